"""Bursts through two worker processes, and copies of every message racing for the rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks import processing
from django_notify_tasks.dispatch import enqueue, enqueue_notifications
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.tasks import deliver_email
from tests.faults.config import rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, settled
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def all_delivered(count: int) -> Any:
    def check() -> bool:
        pending = Notification.objects.filter(status=Notification.Status.PENDING).exists()
        return not pending and Delivery.objects.count() == count and settled()

    return check


def test_burst_of_1000_events_is_delivered_once_each(faults: Faults, chat_admin: Any) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created")
    for batch in range(20):  # 20 requests that create 50 chats each
        with transaction.atomic():
            for number in range(50):
                Chat.objects.create(title=f"burst {batch}.{number}", admin=chat_admin)

    faults.worker.wait_until(all_delivered(1000), 150, "1000 deliveries")
    tally = email_tally(faults.smtp)
    assert tally.counts == (1000, 0, 0, 0)
    assert tally.unknown == 0


def unprocessed_notifications(chat_admin: Any, count: int) -> list[int]:
    """Notifications recorded without being sent to the broker (as after an outage)."""
    chats = Chat.objects.bulk_create(
        Chat(title=f"copy {number}", admin=chat_admin) for number in range(count)
    )
    rows = Notification.objects.bulk_create(
        Notification(rule="chat-created", event="created", model="testapp.chat", object_pk=c.pk)
        for c in chats
    )
    return [row.pk for row in rows]


def test_three_copies_of_each_process_message_make_one_delivery_each(
    faults: Faults, chat_admin: Any
) -> None:
    ids = unprocessed_notifications(chat_admin, 200)
    for _ in range(3):  # as if the broker delivered every message three times
        enqueue_notifications(ids)

    faults.worker.wait_until(all_delivered(200), 60, "200 deliveries")
    assert email_tally(faults.smtp).counts == (200, 0, 0, 0)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_overlapping_delivery_tasks_claim_each_row_once(faults: Faults, chat_admin: Any) -> None:
    ids = unprocessed_notifications(chat_admin, 200)
    for notification_id in ids:  # the rows, made here; the worker only sends
        processing.process_notification(notification_id, "default")
    delivery_ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    batches = [delivery_ids[start : start + 50] for start in range(0, 200, 50)]
    batches += [delivery_ids[start : start + 50] for start in range(25, 200, 50)]
    batches += [[pk] for pk in reversed(delivery_ids)]
    for batch in batches:  # every row in three tasks, which two processes run at once
        enqueue(deliver_email.name, (batch,))

    faults.worker.wait_until(lambda: settled() and len(faults.smtp.messages) >= 200, 60, "200")
    faults.worker.wait_until(faults.worker.idle, 60, "all 208 tasks done")
    assert email_tally(faults.smtp).counts == (200, 0, 0, 0)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
