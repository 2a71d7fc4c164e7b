"""Find work an outage held back (broker down at commit, a lost message, a dead worker)."""

from __future__ import annotations

from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, Q
from django.utils import timezone

from django_notify_tasks.channels import all_channels
from django_notify_tasks.conf import app_settings
from django_notify_tasks.deliveries import claim_expired
from django_notify_tasks.dispatch import requeue
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.sending import queue_deliveries

SWEEP_LIMIT = 500  # rows of each kind one sweep re-sends


def stale_notification_ids(using: str = DEFAULT_DB_ALIAS, limit: int = SWEEP_LIMIT) -> list[int]:
    """Pending notifications not (re-)dispatched for ``NOTIFY_TASKS_REDISPATCH_AFTER``; touched."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.redispatch_after)
    rows = Notification.objects.using(using).filter(status=Notification.Status.PENDING)
    ids = list(
        rows.filter(
            Q(dispatched_at__isnull=True, created_at__lte=cutoff) | Q(dispatched_at__lte=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    rows.filter(pk__in=ids).update(
        dispatched_at=timezone.now(), dispatch_count=F("dispatch_count") + 1
    )
    return ids


def stale_delivery_ids(
    channel: str, using: str = DEFAULT_DB_ALIAS, limit: int = SWEEP_LIMIT
) -> list[int]:
    """Deliveries whose task was lost: waiting too long, or claimed by a dead worker."""
    now = timezone.now()
    after = timedelta(seconds=app_settings.redispatch_after)
    backoff = timedelta(seconds=app_settings.retry_backoff_max)
    stale = (
        Q(status=Delivery.Status.PENDING, updated_at__lte=now - after)
        | Q(status=Delivery.Status.RETRYING, updated_at__lte=now - after - backoff)
        | claim_expired()
    )
    rows = Delivery.objects.using(using).filter(channel=channel)
    ids = list(rows.filter(stale).order_by("pk").values_list("pk", flat=True)[:limit])
    # Touch pending and retrying rows so the next sweep waits a full period again.
    rows.filter(pk__in=ids).exclude(status=Delivery.Status.SENDING).update(updated_at=now)
    return ids


def redispatch_stale(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Queue again what an outage held back; how many of each kind, by channel name."""
    notification_ids = stale_notification_ids(using)
    requeue(notification_ids, using)
    counts = {"notifications": len(notification_ids)}
    for channel in all_channels():
        ids = stale_delivery_ids(channel.name, using)
        queue_deliveries(channel.name, ids, using)
        counts[channel.name] = len(ids)
    return counts
