"""Hand work to the broker: the only place that calls ``apply_async``, and it never raises.

Tasks are named, not imported: the worker-side modules that queue tasks are what
``tasks.py`` calls, so importing it here would make a cycle. ``apps.ready()`` imports
``tasks`` so that every task is registered by the time a name is looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import current_app
from django.db import DEFAULT_DB_ALIAS

from django_notify_tasks.conf import app_settings

logger = logging.getLogger(__name__)

# Fail fast when the broker is unreachable: the outbox row is the record, the sweeper re-sends.
PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}


def time_limits() -> dict[str, float]:
    """The task time limits from settings, for each call (read live, like every setting)."""
    return {
        "soft_time_limit": app_settings.soft_time_limit,
        "time_limit": app_settings.time_limit,
    }


PROCESS_NOTIFICATION = "django_notify_tasks.process_notification"


def enqueue(
    task_name: str, args: Sequence[Any], using: str = DEFAULT_DB_ALIAS, **options: Any
) -> bool:
    """Send the task ``task_name`` with ids as arguments; log and return False when the
    broker refuses."""
    kwargs = {} if using == DEFAULT_DB_ALIAS else {"using": using}
    if app_settings.queue:
        options.setdefault("queue", app_settings.queue)
    try:
        current_app.tasks[task_name].apply_async(
            tuple(args), kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY, **options
        )
    except Exception:
        logger.warning(
            "Could not send %s%r to the broker; the sweeper will re-send it.",
            task_name,
            tuple(args),
            exc_info=True,
        )
        return False
    return True


def enqueue_notifications(notification_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Queue ``process_notification`` for each id, stopping at the first broker failure."""
    for position, notification_id in enumerate(notification_ids):
        if not enqueue(PROCESS_NOTIFICATION, (notification_id,), using, **time_limits()):
            left = len(notification_ids) - position
            logger.warning("%d notification(s) stay pending until the broker is back.", left)
            return
