"""Operator actions on the outbox, shared by the admin and management commands."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import QuerySet

from django_notify_tasks.deliveries import ids_by_channel
from django_notify_tasks.dispatch import enqueue_notifications
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.sending import queue_deliveries

UNSENT = [
    Delivery.Status.PENDING,
    Delivery.Status.RETRYING,
    Delivery.Status.FAILED,
    Delivery.Status.CANCELLED,
]


def resend(notifications: QuerySet[Notification]) -> int:
    """Queue again the notifications not yet processed and their unsent or failed deliveries."""
    using = notifications.db
    ids = list(notifications.values_list("pk", flat=True))
    with transaction.atomic(using=using):
        Notification.objects.using(using).filter(
            pk__in=ids, status__in=[Notification.Status.FAILED, Notification.Status.CANCELLED]
        ).update(status=Notification.Status.PENDING, error="", claim_token="", claimed_at=None)
        pending = list(
            Notification.objects.using(using)
            .filter(pk__in=ids, status=Notification.Status.PENDING)
            .values_list("pk", flat=True)
        )
        # A delivery that failed before any attempt has no content (its recipient or
        # template failed): resending it would send an empty message. Fix the rule instead.
        unsent = (
            Delivery.objects.using(using)
            .filter(notification__in=ids, status__in=UNSENT)
            .exclude(status=Delivery.Status.FAILED, attempts=0)
        )
        by_channel = ids_by_channel(unsent)
        unsent.update(status=Delivery.Status.PENDING, attempts=0, error="")
        transaction.on_commit(partial(enqueue_notifications, pending, using), using=using)
        for channel, delivery_ids in by_channel.items():
            transaction.on_commit(
                partial(queue_deliveries, channel, delivery_ids, using), using=using
            )
    return len(ids)


def cancel(notifications: QuerySet[Notification]) -> int:
    """Stop whatever has not been sent yet; sent deliveries stay as they are."""
    using = notifications.db
    ids = list(notifications.values_list("pk", flat=True))
    with transaction.atomic(using=using):
        Notification.objects.using(using).filter(
            pk__in=ids, status=Notification.Status.PENDING
        ).update(status=Notification.Status.CANCELLED)
        Delivery.objects.using(using).filter(
            notification__in=ids, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]
        ).update(status=Delivery.Status.CANCELLED)
    return len(ids)
