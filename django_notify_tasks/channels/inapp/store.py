"""Sending an ``inapp`` row is storing its item: one INSERT for a claimed batch."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DatabaseError, transaction

from django_notify_tasks.channels.base import OnError, OnSent
from django_notify_tasks.channels.inapp.live import live, publish_new_items
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery, InboxItem


def store_items(deliveries: Sequence[Delivery], on_sent: OnSent, on_error: OnError) -> None:
    """Insert one item per row (a row sent twice finds its item there: the unique constraint
    on notification and user), then publish the new counts."""
    if not deliveries:
        return
    using = deliveries[0]._state.db or "default"
    storable, items = [], []
    for delivery in deliveries:
        if delivery.user_id is None:  # deleted since the row was made
            on_error(delivery, PermanentDeliveryError("the user no longer exists"))
        else:
            storable.append(delivery)
            items.append(_item(delivery, delivery.user_id))
    try:
        with transaction.atomic(using=using):
            InboxItem.objects.using(using).bulk_create(items, ignore_conflicts=True)
    except DatabaseError as exc:
        for delivery in storable:
            on_error(delivery, TransientDeliveryError(f"{type(exc).__name__}: {exc}"))
        return
    on_sent(*storable)  # one statement records the batch
    publish_new_items(_stored(storable, using), using)


def _item(delivery: Delivery, user_id: int) -> InboxItem:
    return InboxItem(
        user_id=user_id,
        notification_id=delivery.notification_id,
        rule=delivery.notification.rule,
        title=delivery.subject,
        body=delivery.body,
        url=delivery.options.get("url", ""),
    )


def _stored(deliveries: list[Delivery], using: str) -> list[InboxItem]:
    """The items of these rows with their ids (``ignore_conflicts`` returns none)."""
    if not live():
        return []
    return list(
        InboxItem.objects.using(using).filter(
            notification_id__in={delivery.notification_id for delivery in deliveries},
            user_id__in={delivery.user_id for delivery in deliveries},
        )
    )
