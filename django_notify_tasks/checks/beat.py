"""Checks of the beat schedule: overrides (E016), the report directory (E015, W004, W014), and the
bundled entries under django-celery-beat's scheduler (W009)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from django_notify_tasks.beat import (
    BUNDLED,
    ENTRY_PREFIX,
    ScheduleError,
    beat_schedule,
    installed,
    scheduled_entries,
)
from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings
from django_notify_tasks.reports.files import ReportDirError, ReportDirMissing, report_dir

REPORT_TASKS = {"django_notify_tasks.user_count_report", "django_notify_tasks.activity_digest"}


def check_beat(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The schedule overrides, and the report directory the scheduled reports write to.

    The bundled schedule runs only where ``install(app)`` or ``beat_schedule()`` put it, so
    a project that uses neither never hears about reports (``beat.scheduled_entries``).
    """
    try:
        beat_schedule()
        schedule = scheduled_entries()  # W004 only where the reports actually run
    except ScheduleError as exc:
        return [
            Error(
                str(exc),
                hint="Fix or remove that entry of NOTIFY_TASKS_BEAT_SCHEDULE.",
                id=f"{PREFIX}.E016",
            )
        ]
    try:
        report_dir(create=False)  # a check changes nothing on disk
    except ReportDirMissing as exc:
        return [
            Warning(
                f"{exc}: the first report creates it.",
                hint="Create it now if the worker's user could not (its parent must be "
                "writable by that user), or ignore this on a fresh deployment.",
                id=f"{PREFIX}.W014",
            )
        ]
    except ReportDirError as exc:
        if app_settings.report_dir:
            return [
                Error(
                    f"{exc}.",
                    hint="Create the directory and let the worker's user write to it.",
                    id=f"{PREFIX}.E015",
                )
            ]
        reporting = sorted(
            name for name, entry in schedule.items() if entry["task"] in REPORT_TASKS
        )
        if reporting:
            tasks = sorted({schedule[name]["task"].rpartition(".")[2] for name in reporting})
            off = ", ".join(f"{name!r}: None" for name in reporting)
            return [
                Warning(
                    "NOTIFY_TASKS_REPORT_DIR should be set: the beat schedule runs reports "
                    f"that fail without it ({', '.join(tasks)}).",
                    hint="Set NOTIFY_TASKS_REPORT_DIR to a writable directory, or turn the "
                    f"reports off: NOTIFY_TASKS_BEAT_SCHEDULE = {{{off}}}.",
                    id=f"{PREFIX}.W004",
                )
            ]
    return []


def check_database_scheduler(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W009: the bundled entries in ``CELERY_BEAT_SCHEDULE`` while beat uses the database."""
    scheduler = app_settings.celery_beat_scheduler
    entries = app_settings.celery_beat_schedule
    ours = sorted(str(name) for name in entries if str(name).startswith(ENTRY_PREFIX))
    if installed():  # install(app) adds them to the app's schedule, beat's source too
        ours = sorted({*ours, *(f"{name} (install(app))" for name in BUNDLED)})
    if not ours or not (scheduler.startswith("django_celery_beat") or scheduler == "django"):
        return []
    return [
        Warning(
            f"CELERY_BEAT_SCHEDULE should not hold the package's entries ({ours!r}) when beat "
            f"runs django-celery-beat's scheduler ({scheduler!r}): it rewrites them at every "
            "start, undoing admin changes, and never deletes one you remove.",
            hint="Remove them from CELERY_BEAT_SCHEDULE (and install(app) from the Celery "
            "app) and run manage.py notify_tasks_sync_beat at each deployment instead.",
            id=f"{PREFIX}.W009",
        )
    ]
