"""The package's Celery tasks: names, options, and one call into the module that does the work.

Tasks take ids (plain JSON values), never model instances. Redelivery is safe (rows are
claimed), so the delivery tasks use ``acks_late`` and ``reject_on_worker_lost``: a message
is acknowledged once it is done. They have no Celery retry limit: the Delivery rows count
attempts (``NOTIFY_TASKS_MAX_RETRIES``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import Task, shared_task
from django.db import DEFAULT_DB_ALIAS

from django_notify_tasks import digest_sending, reports, sending, sweeper

if TYPE_CHECKING:
    AnyTask = Task[Any, Any]
else:
    AnyTask = Task  # older Celery releases cannot subscript Task at run time


@shared_task(
    name="django_notify_tasks.process_notification",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def process_notification(
    notification_id: int, using: str = DEFAULT_DB_ALIAS, also: list[int] | None = None
) -> None:
    """Create the deliveries of this notification (and ``also`` these), and of other waiting
    ones, and send them."""
    sending.process_and_send(notification_id, using, also or ())


@shared_task(
    bind=True,
    name="django_notify_tasks.deliver_email",
    max_retries=None,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def deliver_email(self: AnyTask, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Send the given email deliveries over one SMTP connection; each is sent at most once."""
    sending.send_and_finish(self, "email", delivery_ids, using)


@shared_task(
    bind=True,
    name="django_notify_tasks.publish_realtime",
    max_retries=None,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def publish_realtime(
    self: AnyTask, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Publish the given realtime deliveries to Centrifugo, broadcasting where they share data."""
    sending.send_and_finish(self, "realtime", delivery_ids, using)


@shared_task(
    bind=True,
    name="django_notify_tasks.send_deliveries",
    max_retries=None,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def send_deliveries(
    self: AnyTask, channel: str, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Send the given deliveries of a channel from ``NOTIFY_TASKS_CHANNELS``."""
    sending.send_and_finish(self, channel, delivery_ids, using)


@shared_task(name="django_notify_tasks.redispatch_stale", ignore_result=True)
def redispatch_stale(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Re-send notifications and deliveries that an outage held back."""
    return sweeper.redispatch_stale(using)


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
    return reports.run_activity_digest(self, start, end, hours, send)


@shared_task(name="django_notify_tasks.purge_old", ignore_result=True)
def purge_old() -> int:
    """Delete history older than ``NOTIFY_TASKS_RETENTION_DAYS`` in bounded batches."""
    return reports.purge_old()


@shared_task(name="django_notify_tasks.roll_up_deliveries", ignore_result=True)
def roll_up_deliveries() -> int:
    """Roll settled and changed hours of the delivery log up for the dashboard."""
    from django_notify_tasks.dashboard.rollup import roll_up

    return roll_up()


@shared_task(name="django_notify_tasks.send_digests", ignore_result=True)
def send_digests(using: str = DEFAULT_DB_ALIAS) -> int:
    """Send each user's due digest (held rows: digest rules, mail past a throttle)."""
    return digest_sending.send_digests(using)
