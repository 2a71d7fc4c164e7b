"""Hand work to the broker: the only place that calls ``apply_async``, and it never raises."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

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


def enqueue(task: Any, args: Sequence[Any], using: str = DEFAULT_DB_ALIAS, **options: Any) -> bool:
    """Send ``task`` with ids as arguments; log and return False when the broker refuses."""
    kwargs = {} if using == DEFAULT_DB_ALIAS else {"using": using}
    if app_settings.queue:
        options.setdefault("queue", app_settings.queue)
    try:
        task.apply_async(
            tuple(args), kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY, **options
        )
    except Exception:
        logger.warning(
            "Could not send %s%r to the broker; the sweeper will re-send it.",
            task.name,
            tuple(args),
            exc_info=True,
        )
        return False
    return True


def enqueue_notifications(notification_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Queue ``process_notification`` for each id, stopping at the first broker failure."""
    from django_notify_tasks.tasks import process_notification

    for position, notification_id in enumerate(notification_ids):
        if not enqueue(process_notification, (notification_id,), using, **time_limits()):
            left = len(notification_ids) - position
            logger.warning("%d notification(s) stay pending until the broker is back.", left)
            return
