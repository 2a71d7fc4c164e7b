"""Operator actions on the outbox, shared by the admin and management commands."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

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
    """Queue again what was not sent; return how many notifications had something to queue.

    Notifications not processed (failed, cancelled, pending) are processed again. So is a
    processed one with deliveries that failed before any attempt (a recipient or template
    problem, fixed since): those rows have no content to send, so they are deleted and the
    notification is rendered again; rows already sent stay, and are not sent twice (a
    delivery is unique per notification, channel and target). Deliveries that failed
    while sending, or wait, are queued again with their attempts reset.
    """
    using = notifications.db
    ids = list(notifications.values_list("pk", flat=True))
    rows = Notification.objects.using(using)
    with transaction.atomic(using=using):
        never_built = Delivery.objects.using(using).filter(
            notification__in=ids, status=Delivery.Status.FAILED, attempts=0
        )
        rebuild = set(never_built.values_list("notification_id", flat=True))
        never_built.delete()
        rows.filter(
            Q(status__in=[Notification.Status.FAILED, Notification.Status.CANCELLED])
            | Q(pk__in=rebuild),
            pk__in=ids,
        ).update(
            status=Notification.Status.PENDING,
            error="",
            claim_token="",
            claimed_at=None,
            attempts=0,
            processed_at=None,
        )
        pending = list(
            rows.filter(pk__in=ids, status=Notification.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        unsent = Delivery.objects.using(using).filter(notification__in=ids, status__in=UNSENT)
        by_channel = ids_by_channel(unsent)
        queued = set(unsent.values_list("notification_id", flat=True)) | set(pending)
        unsent.update(
            status=Delivery.Status.PENDING, attempts=0, error="", updated_at=timezone.now()
        )
        transaction.on_commit(partial(enqueue_notifications, pending, using), using=using)
        for channel, delivery_ids in by_channel.items():
            transaction.on_commit(
                partial(queue_deliveries, channel, delivery_ids, using), using=using
            )
    return len(queued)


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
        ).update(status=Delivery.Status.CANCELLED, updated_at=timezone.now())
    return len(ids)
