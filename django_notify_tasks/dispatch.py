"""Hand work to the broker: the only place that calls ``apply_async``, and it never raises.

Tasks are named, not imported: the worker-side modules that queue tasks are what
``tasks.py`` calls, so importing it here would make a cycle. ``apps.ready()`` imports
``tasks`` so that every task is registered by the time a name is looked up.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from celery import Celery, current_app
from django.db import DEFAULT_DB_ALIAS
from kombu.pools import ProducerPool

from django_notify_tasks.conf import app_settings
from django_notify_tasks.models import Notification
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN

logger = logging.getLogger(__name__)

# Fail fast when the broker is unreachable: the outbox row is the record, the sweeper re-sends.
# With NOTIFY_TASKS_BROKER_TIMEOUT on each connect and socket operation, a publish waits at
# most about three timeouts, also for a broker that accepts connections and never answers.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}


def time_limits() -> dict[str, Any]:
    """The task time limits from settings, for each call (read live, like every setting)."""
    return {
        "soft_time_limit": app_settings.soft_time_limit,
        "time_limit": app_settings.time_limit,
    }


PROCESS_NOTIFICATION = "django_notify_tasks.process_notification"


def enqueue(
    task_name: str,
    args: Sequence[Any],
    using: str = DEFAULT_DB_ALIAS,
    *,
    also: Sequence[int] = (),
    **options: Any,
) -> bool:
    """Send the task ``task_name`` with ids as arguments (``also``: more ids a processing run
    takes as its own); log and return False when the broker refuses."""
    kwargs: dict[str, Any] = {} if using == DEFAULT_DB_ALIAS else {"using": using}
    if also:
        kwargs["also"] = list(also)
    if app_settings.queue:
        options.setdefault("queue", app_settings.queue)
    try:
        task = current_app.tasks[task_name]
        with _producers(task.app, app_settings.broker_timeout).acquire(
            block=True, timeout=app_settings.broker_timeout
        ) as producer:
            task.apply_async(
                tuple(args),
                kwargs,
                producer=producer,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
                **options,
            )
    except Exception as exc:
        outage.failed(task_name, tuple(args), exc)
        return False
    outage.ended()
    return True


class BrokerOutage:
    """Logs publishes the broker refused: the first of an outage with its traceback, the
    next ones one line each, and one summary line at the first publish that goes through.
    Counted per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def failed(self, task_name: str, args: tuple[Any, ...], exc: Exception) -> None:
        with self.lock:
            self.count += 1
            first = self.count == 1
        logger.warning(
            "Could not send %s%r to the broker (%s: %s); the sweeper will re-send it.",
            task_name,
            args,
            type(exc).__name__,
            exc,
            exc_info=first,  # the rest of the outage: one line a publish
        )

    def ended(self) -> None:
        if not self.count:  # the common case, without the lock
            return
        with self.lock:
            count, self.count = self.count, 0
        if count:
            logger.warning(
                "The broker is back: %d publish(es) failed while it was unreachable; the "
                "sweeper re-sends the notifications they held back.",
                count,
            )


outage = BrokerOutage()


def bounded_transport_options(app: Celery, timeout: float) -> dict[str, Any]:
    """The app's broker transport options, with every socket wait bounded by ``timeout``
    where the host left it unbounded (Redis: socket timeouts; AMQP: read and write)."""
    options = dict(app.conf.broker_transport_options or {})
    for name in ("socket_timeout", "socket_connect_timeout", "read_timeout", "write_timeout"):
        if options.get(name) is None:
            options[name] = timeout
    return options


@functools.lru_cache(maxsize=8)
def _pool(app: Celery, url: str, timeout: float, pid: int) -> ProducerPool:
    connection = app.connection_for_write(
        url, connect_timeout=timeout, transport_options=bounded_transport_options(app, timeout)
    )
    return ProducerPool(connection.Pool(limit=app.pool.limit), limit=app.pool.limit)


def _producers(app: Celery, timeout: float) -> ProducerPool:
    """The package's own producers: the app's broker, with bounded timeouts. Kept per
    process (a forked worker builds its own) and per broker URL and timeout."""
    return _pool(app, str(app.conf.broker_write_url or app.conf.broker_url), timeout, os.getpid())


def enqueue_notifications(notification_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Queue ``process_notification`` for the ids, one task per processing run's batch
    (``enqueue_runs``), stopping at the first broker failure."""
    enqueue_runs(notification_ids, using, per_run=NOTIFICATIONS_PER_RUN)


def requeue(notification_ids: Sequence[int], using: str) -> None:
    """Queue runs for rows that waited (given back by a run, or found by the sweeper): one
    that a run stopped on before in a task of its own (runs never take it along, and it
    may stop its run again), the others in batches."""
    interrupted = set(
        Notification.objects.using(using)
        .filter(pk__in=notification_ids, attempts__gt=0)
        .values_list("pk", flat=True)
    )
    for notification_id in sorted(interrupted):
        enqueue_notifications([notification_id], using)
    enqueue_notifications([pk for pk in notification_ids if pk not in interrupted], using)


def enqueue_runs(notification_ids: Sequence[int], using: str, per_run: int) -> list[int]:
    """Queue one ``process_notification`` per ``per_run`` ids, each group the run's own
    rows; stop at the first broker failure and return the ids handed over.

    One task per batch, not per row, keeps a backlog's queue short: behind a row's own
    task, a re-sent or retried task no longer waits for thousands that would find their
    rows done. Every row is in one task's own group, so none depends on another run having
    room to take it along.
    """
    for start in range(0, len(notification_ids), per_run):
        first, *also = notification_ids[start : start + per_run]
        if not enqueue(PROCESS_NOTIFICATION, (first,), using, also=also, **time_limits()):
            left = len(notification_ids) - start - 1
            if left:  # the failure above named the first of them
                logger.warning("%d more notification(s) stay pending until then.", left)
            return list(notification_ids[:start])
    return list(notification_ids)
