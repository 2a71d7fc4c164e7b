"""Deleting old history in bounded batches; unfinished work is never purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from django_notify_tasks.conf import app_settings
from django_notify_tasks.dashboard.rollup import roll_up
from django_notify_tasks.models import Delivery, DeliveryContent, InboxItem, Notification
from django_notify_tasks.models.deliveries import UNFINISHED_DELIVERIES

PURGE_BATCH_SIZE = 1000
__all__ = ["PURGE_BATCH_SIZE", "UNFINISHED_DELIVERIES", "purge_old"]


def purge_old(now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete finished notifications (and deliveries) and inbox items, read or not, older
    than the retention, in batches; return how many notifications and items."""
    # The dashboard's hourly counts first: the hours purged keep theirs (dashboard/rollup.py).
    roll_up(now)
    cutoff = (now or timezone.now()) - timedelta(days=app_settings.retention_days)
    purged = _purge_notifications(cutoff, batch_size) + _purge_inbox(cutoff, batch_size)
    _purge_unused_contents(batch_size)
    return purged


def _purge_notifications(cutoff: datetime, batch_size: int) -> int:
    # Unfinished work is never purged: a pending notification or an unsent delivery stays.
    finished = (
        Notification.objects.filter(created_at__lt=cutoff)
        .exclude(status=Notification.Status.PENDING)
        .exclude(deliveries__status__in=UNFINISHED_DELIVERIES)
    )
    deleted = 0
    while True:
        ids = list(finished.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        Notification.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def _purge_inbox(cutoff: datetime, batch_size: int) -> int:
    old = InboxItem.objects.filter(created__lt=cutoff).order_by("pk")
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch_size]):
        InboxItem.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def _purge_unused_contents(batch_size: int) -> None:
    """Contents no delivery points at any more (their deliveries were purged)."""
    unused = DeliveryContent.objects.filter(
        ~Exists(Delivery.objects.filter(content=OuterRef("pk")))
    ).order_by("pk")
    while ids := list(unused.values_list("pk", flat=True)[:batch_size]):
        DeliveryContent.objects.filter(pk__in=ids).delete()
