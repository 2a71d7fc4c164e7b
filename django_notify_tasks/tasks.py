"""Celery tasks: thin wrappers that take ids and call the service modules."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DEFAULT_DB_ALIAS

from django_notify_tasks import deliveries, email, processing, realtime, reports, sweeper
from django_notify_tasks.dispatch import enqueue, enqueue_notifications, time_limits
from django_notify_tasks.exceptions import DeliveryFailed
from django_notify_tasks.models import Delivery

logger = logging.getLogger(__name__)
BATCH_SIZE: dict[str, int] = {Delivery.Channel.EMAIL: 50, Delivery.Channel.REALTIME: 1000}
# Channels whose run fills its batch with other waiting rows: one SMTP connection then
# carries many notifications' messages. Realtime already sends one request per batch.
COALESCED = frozenset({Delivery.Channel.EMAIL})
if TYPE_CHECKING:
    AnyTask = Task[Any, Any]
else:
    AnyTask = Task  # older Celery releases cannot subscript Task at run time

# Redelivery is safe (rows are claimed), so the delivery tasks use ignore_result=True,
# acks_late=True and reject_on_worker_lost=True: a message is acknowledged once it is done.

Sender = Callable[
    [Sequence[Delivery], Callable[[Delivery], None], Callable[[Delivery, Exception], None]], None
]


@shared_task(
    name="django_notify_tasks.process_notification",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def process_notification(notification_id: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the deliveries of this and other waiting notifications, and send them.

    The run sends the first batch of each channel itself, so a message does not wait for
    a second trip through the queue (behind every other task in it, under a backlog); a
    larger fan-out goes on in ``deliver_email`` / ``publish_realtime`` tasks, in parallel.
    """
    pending = processing.process_pending(notification_id, using)
    if not pending:  # processed already: a redelivered task finishes what a dead run left
        pending = deliveries.left_unsent(notification_id, using)
    failed: dict[int, str] = {}
    out_of_time = False
    for channel in SEND_ORDER:
        ids = pending.get(channel, [])
        # Out of time: the next channel goes to its own task, before the hard limit.
        size = 0 if out_of_time else BATCH_SIZE[channel]
        queue_deliveries(channel, ids[size:], using)
        if ids[:size]:
            outcome = send_batch(ids[:size], channel, using)
            queue_retries(outcome, channel, using)
            failed.update(outcome.failed)
            out_of_time = outcome.out_of_time
    if failed:
        raise DeliveryFailed(describe_failures(failed))


@shared_task(
    bind=True,
    name="django_notify_tasks.deliver_email",
    max_retries=None,  # no Celery limit: the Delivery rows count attempts (MAX_RETRIES)
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliver_email(self: AnyTask, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Send the given email deliveries over one SMTP connection; each is sent at most once."""
    channel = Delivery.Channel.EMAIL
    finish(self, send_batch(delivery_ids, channel, using), channel, using)


@shared_task(
    bind=True,
    name="django_notify_tasks.publish_realtime",
    max_retries=None,  # no Celery limit: the Delivery rows count attempts (MAX_RETRIES)
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def publish_realtime(
    self: AnyTask, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Publish the given realtime deliveries to Centrifugo, broadcasting where they share data."""
    channel = Delivery.Channel.REALTIME
    finish(self, send_batch(delivery_ids, channel, using), channel, using)


TASK_FOR_CHANNEL: dict[str, AnyTask] = {
    Delivery.Channel.EMAIL: deliver_email,
    Delivery.Channel.REALTIME: publish_realtime,
}


# Realtime first: one request, and the channel people watch as it happens.
SEND_ORDER = (Delivery.Channel.REALTIME, Delivery.Channel.EMAIL)


def sender(channel: str) -> Sender:
    """The channel's send function, looked up at call time (tests stand in for it)."""
    return email.send_each if channel == Delivery.Channel.EMAIL else realtime.publish_each


def send_batch(ids: list[int], channel: str, using: str) -> deliveries.Outcome:
    """Claim the rows no one else holds, send them, and record each result on its row."""
    outcome = deliveries.Outcome()
    claimed = deliveries.claim(ids, channel, using)
    if channel in COALESCED:
        claimed += deliveries.claim_waiting(channel, using, BATCH_SIZE[channel] - len(claimed))
    handled: set[int] = set()

    def sent(delivery: Delivery) -> None:
        if delivery.pk in handled:
            return  # reported twice: a soft time limit between recording and its mark
        handled.add(delivery.pk)
        extra = {"message_id": email.message_id(delivery)} if channel == "email" else {}
        deliveries.mark_sent(delivery, outcome, using, **extra)

    def failed(delivery: Delivery, error: Exception) -> None:
        if delivery.pk in handled:
            return
        handled.add(delivery.pk)
        deliveries.mark_error(delivery, error, outcome, using)

    try:
        sender(channel)(claimed, sent, failed)
    except SoftTimeLimitExceeded:
        left = [d for d in claimed if d.pk not in handled]
        deliveries.release(left, "task soft time limit reached", outcome, using)
        outcome.out_of_time = True
    return outcome


def queue_deliveries(
    channel: str, delivery_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS, **options: Any
) -> None:
    """Queue the channel's task in batches, with the time limits from settings."""
    size = BATCH_SIZE[channel]
    for start in range(0, len(delivery_ids), size):
        enqueue(
            TASK_FOR_CHANNEL[channel],
            (list(delivery_ids[start : start + size]),),
            using,
            **time_limits(),
            **options,
        )


def finish(task: AnyTask, outcome: deliveries.Outcome, channel: str, using: str) -> None:
    """Retry what may pass; end in FAILURE when a delivery failed for good."""
    if outcome.retry and not outcome.failed:
        raise task.retry(
            args=(outcome.retry,),
            kwargs={} if using == DEFAULT_DB_ALIAS else {"using": using},
            countdown=retry_countdown(outcome),
            **time_limits(),  # type: ignore[arg-type]  # Celery takes floats; its stubs say int
        )
    queue_retries(outcome, channel, using)  # beside a failure: in a task of their own
    if outcome.failed:
        raise DeliveryFailed(describe_failures(outcome.failed))


def queue_retries(outcome: deliveries.Outcome, channel: str, using: str) -> None:
    """Queue the rows to retry for after their backoff."""
    if outcome.retry:
        queue_deliveries(channel, outcome.retry, using, countdown=retry_countdown(outcome))


def retry_countdown(outcome: deliveries.Outcome) -> float:
    return deliveries.retry_countdown(max(outcome.attempts_made - 1, 0))


def describe_failures(failed: dict[int, str]) -> str:
    return f"{len(failed)} delivery(ies) failed: " + "; ".join(
        f"#{pk}: {reason}" for pk, reason in failed.items()
    )


@shared_task(name="django_notify_tasks.redispatch_stale", ignore_result=True)
def redispatch_stale(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Re-send notifications and deliveries that an outage held back."""
    notification_ids = sweeper.stale_notification_ids(using)
    enqueue_notifications(notification_ids, using)
    counts = {"notifications": len(notification_ids)}
    for channel in TASK_FOR_CHANNEL:
        ids = sweeper.stale_delivery_ids(channel, using)
        queue_deliveries(channel, ids, using)
        counts[channel] = len(ids)
    return counts


@shared_task(name="django_notify_tasks.user_count_report", ignore_result=True)
def user_count_report() -> dict[str, object]:
    """Append a row of user counts to ``user_counts.csv`` in ``NOTIFY_TASKS_REPORT_DIR``."""
    return reports.user_count_report()


@shared_task(
    bind=True,
    name="django_notify_tasks.activity_digest",
    ignore_result=False,  # the status endpoint shows the result
    track_started=True,
)
def activity_digest(
    self: AnyTask,
    start: str | None = None,
    end: str | None = None,
    hours: float | None = None,
    send: bool = True,
) -> dict[str, Any]:
    """Digest of ``[start, end)`` (default: the last 24 h) to a JSON file, ADMINS and staff."""
    live = reports.LiveProgress(self.request.id)

    def progress(current: int, total: int) -> None:
        report_progress(self, current, total)  # stored first: the record pages fall back on
        live.step(current, total)

    return live.run(reports.activity_digest, start, end, hours, send=send, progress=progress)


def report_progress(task: AnyTask, current: int, total: int) -> None:
    """Store state PROGRESS for the status endpoint; a report never fails for its progress."""
    if not task.request.id:  # called as a plain function, not as a task
        return
    meta = {"current": current, "total": total, "percent": reports.percent_of(current, total)}
    try:
        task.update_state(state="PROGRESS", meta=meta)
    except Exception:  # the result backend is down: the report itself can still be made
        logger.warning("Could not store the progress of %s", task.request.id, exc_info=True)


@shared_task(name="django_notify_tasks.purge_old", ignore_result=True)
def purge_old() -> int:
    """Delete history older than ``NOTIFY_TASKS_RETENTION_DAYS`` in bounded batches."""
    return reports.purge_old()
