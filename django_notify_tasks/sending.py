"""The send policy, in the worker: claim delivery rows, send them through their channel,
record each result once, and queue what is left (the rest of a fan-out, the retries).

Every step goes through the channel interface (``channels.base.Channel``): nothing here
knows one channel from another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DEFAULT_DB_ALIAS

from django_notify_tasks import deliveries, processing
from django_notify_tasks.channels import Channel, all_channels, get_channel
from django_notify_tasks.dispatch import enqueue, time_limits
from django_notify_tasks.exceptions import DeliveryFailed, PermanentDeliveryError
from django_notify_tasks.models import Delivery

if TYPE_CHECKING:
    from celery import Task

    AnyTask = Task[Any, Any]
else:
    AnyTask = Any


def process_and_send(
    notification_id: int, using: str = DEFAULT_DB_ALIAS, also: Sequence[int] = ()
) -> None:
    """Create the deliveries of this and other waiting notifications, and send them.

    The run sends the first batch of each channel itself, so a message does not wait for
    a second trip through the queue (behind every other task in it, under a backlog); a
    larger fan-out goes on in the channels' tasks, in parallel. Once out of time, the
    channels not started go to their own tasks, before the hard limit.
    """
    try:
        pending = processing.process_pending(notification_id, using, also=also)
        out_of_time = False
    except processing.OutOfTime as stopped:  # what it decided goes to the channels' tasks
        pending, out_of_time = stopped.pending, True
    if not pending and not out_of_time:  # a redelivered task finishes what a dead run left
        pending = deliveries.left_unsent([notification_id, *also], using)
    failed: dict[int, str] = {}
    for channel in all_channels():
        ids = pending.get(channel.name, [])
        size = 0 if out_of_time else channel.batch_size
        queue_deliveries(channel.name, ids[size:], using)
        if ids[:size]:
            outcome = send_batch(ids[:size], channel.name, using)
            queue_retries(outcome, channel.name, using)
            failed.update(outcome.failed)
            out_of_time = outcome.out_of_time
    if failed:
        raise DeliveryFailed(describe_failures(failed))


def send_and_finish(
    task: AnyTask, channel_name: str, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS
) -> None:
    """A channel task's run: send the batch, then retry, queue or fail as its outcome says."""
    finish(task, send_batch(delivery_ids, channel_name, using), channel_name, using)


class Recorder:
    """Records each result of a run on its row, once, and keeps what the run did.

    A row counts as ``handled`` once its result is written: a soft time limit landing
    before that leaves it to be reported again (the same UPDATE, at worst twice) or given
    back, never lost. ``final``: every error is recorded as permanent (a test message is
    not worth a retry).
    """

    def __init__(self, channel: Channel, using: str, *, final: bool = False) -> None:
        self.channel, self.using, self.final = channel, using, final
        self.outcome = deliveries.Outcome()
        self.handled: set[int] = set()

    def sent(self, *sent: Delivery) -> None:
        """Record rows sent, several at once in one statement."""
        first = [delivery for delivery in sent if delivery.pk not in self.handled]
        if first:
            deliveries.mark_sent(first, self.outcome, self.using, self.channel.sent_fields)
            self.handled.update(delivery.pk for delivery in first)

    def failed(self, delivery: Delivery, error: Exception) -> None:
        if delivery.pk not in self.handled:
            if self.final:
                error = PermanentDeliveryError(str(error))
            deliveries.mark_error(delivery, error, self.outcome, self.using)
            self.handled.add(delivery.pk)


def send_batch(ids: Sequence[int], channel_name: str, using: str) -> deliveries.Outcome:
    """Claim the rows no one else holds (and, for a coalescing channel, other waiting rows up
    to its batch size), send them, and record each result on its row."""
    channel = get_channel(channel_name)
    claimed = deliveries.claim(ids, channel.name, using)
    if channel.coalesce:
        claimed += deliveries.claim_waiting(channel.name, using, channel.batch_size - len(claimed))
    return send_claimed(claimed, Recorder(channel, using))


def send_claimed(claimed: list[Delivery], recorder: Recorder) -> deliveries.Outcome:
    """Send rows this run holds; out of time, give back the ones without a result."""
    try:
        recorder.channel.send(claimed, recorder.sent, recorder.failed)
    except SoftTimeLimitExceeded:
        left = [delivery for delivery in claimed if delivery.pk not in recorder.handled]
        deliveries.release(left, "task soft time limit reached", recorder.outcome, recorder.using)
        recorder.outcome.out_of_time = True
    return recorder.outcome


def queue_deliveries(
    channel_name: str, delivery_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS, **options: Any
) -> None:
    """Queue the channel's task in batches of its size, with the time limits from settings."""
    channel = get_channel(channel_name)
    size = channel.batch_size
    for start in range(0, len(delivery_ids), size):
        batch = delivery_ids[start : start + size]
        enqueue(channel.task_name, channel.task_args(batch), using, **time_limits(), **options)


def finish(task: AnyTask, outcome: deliveries.Outcome, channel_name: str, using: str) -> None:
    """Retry what may pass; end in FAILURE when a delivery failed for good."""
    if outcome.retry and not outcome.failed:
        raise task.retry(
            args=get_channel(channel_name).task_args(outcome.retry),
            kwargs={} if using == DEFAULT_DB_ALIAS else {"using": using},
            countdown=retry_countdown(outcome),
            **time_limits(),
        )
    queue_retries(outcome, channel_name, using)  # beside a failure: in a task of their own
    if outcome.failed:
        raise DeliveryFailed(describe_failures(outcome.failed))


def queue_retries(outcome: deliveries.Outcome, channel_name: str, using: str) -> None:
    """Queue the rows to retry for after their backoff."""
    if outcome.retry:
        queue_deliveries(channel_name, outcome.retry, using, countdown=retry_countdown(outcome))


def retry_countdown(outcome: deliveries.Outcome) -> float:
    return deliveries.retry_countdown(max(outcome.attempts_made - 1, 0))


# The exception's class at the start of a reason ("SMTPRecipientsRefused: {...}"), after
# "gave up after N attempts: " for a transient one.
ERROR_CLASS = re.compile(r"^(?:gave up after \d+ attempts: )?([A-Z]\w*): ")


def describe_failures(failed: dict[int, str]) -> str:
    """The task's error: ids and error classes only. It shows in Flower, worker logs and the
    result backend, so the reasons, which name addresses, stay on the Delivery rows."""
    kinds = ", ".join(f"#{pk} ({_error_class(reason)})" for pk, reason in failed.items())
    return f"{len(failed)} delivery(ies) failed: {kinds}; the reasons are on the Delivery rows"


def _error_class(reason: str) -> str:
    found = ERROR_CLASS.match(reason)
    return found.group(1) if found else "see the row"
