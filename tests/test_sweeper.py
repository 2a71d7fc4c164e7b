"""The sweeper finds what an outage held back, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_notify_tasks import tasks
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN
from django_notify_tasks.sweeper import stale_delivery_ids, stale_notification_ids

pytestmark = pytest.mark.django_db


def notification(age: float, **fields: Any) -> Notification:
    row = Notification.objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1", **fields
    )
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=age)
    )
    return row


def delivery(status: str, age: float, **fields: Any) -> Delivery:
    parent = notification(0, status=Notification.Status.PROCESSED)
    row = Delivery.objects.create(
        notification=parent,
        channel="email",
        target=f"{status}-{age}@chat.example",
        status=status,
        **fields,
    )
    Delivery.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(seconds=age))
    return row


def test_pending_notifications_are_resent_after_the_delay_once_per_period(settings: Any) -> None:
    settings.NOTIFY_TASKS_REDISPATCH_AFTER = 300
    old, new = notification(301), notification(10)
    notification(301, status=Notification.Status.PROCESSED)
    assert stale_notification_ids() == [old.pk]
    assert stale_notification_ids() == []  # touched: waits another period
    old.refresh_from_db()
    assert old.dispatch_count == 1 and old.dispatched_at is not None
    assert new.pk not in stale_notification_ids()


def test_stuck_deliveries_are_found_by_state(settings: Any) -> None:
    settings.NOTIFY_TASKS_REDISPATCH_AFTER = 300
    settings.NOTIFY_TASKS_RETRY_BACKOFF_MAX = 600
    settings.NOTIFY_TASKS_TIME_LIMIT = 90
    long_ago = timezone.now() - timedelta(seconds=91)
    stale = [
        delivery("pending", 301),
        delivery("retrying", 901),
        delivery("sending", 0, claimed_at=long_ago),
    ]
    delivery("pending", 10)
    delivery("retrying", 600)  # may still be waiting for its countdown
    delivery("sending", 0, claimed_at=timezone.now())  # a live worker holds it
    delivery("sent", 10_000)
    delivery("failed", 10_000)
    assert stale_delivery_ids("email") == [d.pk for d in stale]
    assert stale_delivery_ids("email") == [stale[2].pk]  # others touched; the dead claim stays


def test_redispatch_task_enqueues_with_limits_and_queue(settings: Any, sent_tasks: Any) -> None:
    settings.NOTIFY_TASKS_QUEUE = "notifications"
    settings.NOTIFY_TASKS_SOFT_TIME_LIMIT = 20
    settings.NOTIFY_TASKS_TIME_LIMIT = 30
    pending = notification(1000)
    stuck = delivery("pending", 1000)
    assert tasks.redispatch_stale() == {"notifications": 1, "email": 1, "realtime": 0, "inapp": 0}
    names = {name: (args, options) for name, args, options in sent_tasks}
    assert names["django_notify_tasks.process_notification"][0] == (pending.pk,)
    args, options = names["django_notify_tasks.deliver_email"]
    assert args == ([stuck.pk],)
    assert (options["soft_time_limit"], options["time_limit"]) == (20, 30)
    assert options["queue"] == "notifications"


def test_a_backlog_is_resent_one_task_per_batch_and_an_interrupted_row_alone(
    settings: Any, sent_tasks: Any
) -> None:
    """Behind thousands of re-sent tasks a row's own would wait for each; one per processing
    run's batch keeps the queue as short as the work."""
    per_run = NOTIFICATIONS_PER_RUN
    fresh = [notification(1000).pk for _ in range(2 * per_run + 20)]
    interrupted = notification(1000, attempts=1).pk
    assert tasks.redispatch_stale()["notifications"] == 2 * per_run + 21
    queued = [args for name, args, _ in sent_tasks if name.endswith("process_notification")]
    assert queued == [(interrupted,), (fresh[0],), (fresh[per_run],), (fresh[2 * per_run],)]
