"""The bundled Celery beat schedule, as data, and a one-line way to install it.

Safe to import from a settings module: nothing here touches Django settings at import.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab

from django_notify_tasks.exceptions import NotifyTasksError

ENTRY_PREFIX = "notify-tasks-"
TASK_PREFIX = "django_notify_tasks."

BUNDLED: dict[str, dict[str, Any]] = {
    f"{ENTRY_PREFIX}redispatch-stale": {
        "task": "django_notify_tasks.redispatch_stale",
        "schedule": 60.0,
    },
    f"{ENTRY_PREFIX}send-digests": {
        "task": "django_notify_tasks.send_digests",
        "schedule": 60.0,
    },
    f"{ENTRY_PREFIX}roll-up-deliveries": {
        "task": "django_notify_tasks.roll_up_deliveries",
        "schedule": 300.0,
    },
    f"{ENTRY_PREFIX}user-count-report": {
        "task": "django_notify_tasks.user_count_report",
        "schedule": 300.0,
    },
    f"{ENTRY_PREFIX}activity-digest": {
        "task": "django_notify_tasks.activity_digest",
        "schedule": crontab(hour=6, minute=0),
    },
    f"{ENTRY_PREFIX}purge-old": {
        "task": "django_notify_tasks.purge_old",
        "schedule": crontab(hour=3, minute=30),
    },
}


# Set by install(): the web process imports the project's Celery app too (``mysite/__init__.py``),
# so ``manage.py check`` can tell whether the bundled schedule runs (checks.beat).
_installed = False


class ScheduleError(NotifyTasksError, ValueError):
    """``NOTIFY_TASKS_BEAT_SCHEDULE`` has an entry beat could not use."""


def beat_schedule(
    overrides: Mapping[str, Any] | None = None, *, queue: str | None = None
) -> dict[str, dict[str, Any]]:
    """The bundled entries merged with ``overrides`` (default: ``NOTIFY_TASKS_BEAT_SCHEDULE``).

    An override dict is merged over the bundled entry of that name (``schedule``, ``args``,
    ``options``, ...); ``None`` removes the entry; a new name needs a ``task``. In a settings
    module, pass the overrides (and queue) explicitly: settings are not ready there.
    """
    if overrides is None:
        from django_notify_tasks.conf import app_settings

        overrides, queue = app_settings.beat_schedule, app_settings.queue
    schedule = copy.deepcopy(BUNDLED)
    for name, override in overrides.items():
        if override is None:
            schedule.pop(name, None)
        elif name in schedule and isinstance(override, Mapping):
            schedule[name] = {**schedule[name], **override}
        elif name not in schedule and isinstance(override, Mapping) and "task" in override:
            schedule[name] = dict(override)
        else:
            raise ScheduleError(
                f"NOTIFY_TASKS_BEAT_SCHEDULE[{name!r}] = {override!r} should be None, a dict "
                f"overriding one of {sorted(BUNDLED)!r}, or a new entry with a 'task'."
            )
    if queue:
        for entry in schedule.values():
            entry["options"] = {"queue": queue, **entry.get("options", {})}
    return schedule


def install(app: Any) -> None:
    """Add the schedule to ``app.conf.beat_schedule`` once the app is configured."""
    global _installed
    _installed = True

    def add_schedule(**kwargs: Any) -> None:
        app.conf.beat_schedule = {**app.conf.beat_schedule, **beat_schedule()}

    if app.finalized:
        add_schedule()
    else:
        app.on_after_finalize.connect(add_schedule, weak=False)


def installed() -> bool:
    """Whether ``install(app)`` ran in this process."""
    return _installed


def scheduled_entries() -> dict[str, dict[str, Any]]:
    """The package's entries beat runs, as far as this process can tell.

    Those ``install(app)`` adds, and the entries of ``CELERY_BEAT_SCHEDULE`` that run one of
    the package's tasks (from ``beat_schedule()`` in settings). Raises ``ScheduleError``.
    """
    from django_notify_tasks.conf import app_settings

    entries = {
        str(name): dict(entry)
        for name, entry in app_settings.celery_beat_schedule.items()
        if isinstance(entry, Mapping) and str(entry.get("task", "")).startswith(TASK_PREFIX)
    }
    return {**entries, **beat_schedule()} if installed() else entries
