"""System checks of the activity digest and the task status endpoint: E018, E019, W006, W007."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, reverse

from django_notify_tasks.beat import ScheduleError, beat_schedule
from django_notify_tasks.channels.realtime.names import check_channel
from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.reports.period import DigestPeriodError, digest_period
from django_notify_tasks.task_status import result_backend_url

DIGEST_TASK = "django_notify_tasks.activity_digest"
DIGEST_KWARGS = {"start", "end", "hours", "send"}


def check_reports(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The digest's channel, its beat entries, and the result backend of the status endpoint."""
    return [*_digest_channel(), *_digest_entries(), *_status_endpoint()]


def _digest_channel() -> list[CheckMessage]:
    channel = app_settings.digest_channel
    if channel is None:
        return []
    try:
        if not isinstance(channel, str):
            raise PermanentDeliveryError(f"{channel!r} is not a string")
        check_channel(channel)
    except PermanentDeliveryError as exc:
        return [
            Error(
                f"NOTIFY_TASKS_DIGEST_CHANNEL should be a valid Centrifugo channel or None: "
                f"{exc}.",
                hint='Use a channel such as "staff:digest" (its namespace configured in '
                "Centrifugo), or None to publish no digest.",
                id=f"{PREFIX}.E018",
            )
        ]
    return []


def _digest_entries() -> list[CheckMessage]:
    try:
        schedule = beat_schedule()
    except ScheduleError:
        return []  # check_beat reports it (E016)
    return [
        Error(
            f"NOTIFY_TASKS_BEAT_SCHEDULE[{name!r}] should give the activity digest a usable "
            f"period: {problem}",
            hint="Give 'kwargs' with ISO 8601 'start'/'end' strings, or 'hours' (a number), "
            "and 'send' (a bool); or none, for the last 24 hours.",
            id=f"{PREFIX}.E019",
        )
        for name, entry in schedule.items()
        if entry["task"] == DIGEST_TASK and (problem := _kwargs_problem(entry.get("kwargs") or {}))
    ]


def _kwargs_problem(kwargs: Any) -> str | None:
    if not isinstance(kwargs, dict):
        return f"kwargs {kwargs!r} is not a dict."
    unknown = sorted(set(kwargs) - DIGEST_KWARGS)
    if unknown:
        return f"unknown kwargs {unknown!r}; it takes {sorted(DIGEST_KWARGS)!r}."
    try:
        digest_period(kwargs.get("start"), kwargs.get("end"), kwargs.get("hours"))
    except DigestPeriodError as exc:
        return str(exc)
    return None


def _status_endpoint() -> list[CheckMessage]:
    if not _status_url_included():
        return []
    backend = result_backend_url()
    if backend is None:
        return [
            Warning(
                "CELERY_RESULT_BACKEND should be set: the task status endpoint "
                "(django_notify_tasks:task-status) is in your URLs, and without a result "
                "backend it answers 503.",
                hint="Set CELERY_RESULT_BACKEND, e.g. to your Redis "
                '("redis://localhost:6379/1"), or silence this warning if no page uses it.',
                id=f"{PREFIX}.W006",
            )
        ]
    if backend.startswith("rpc"):
        return [
            Warning(
                f"CELERY_RESULT_BACKEND should keep states where any process can read them, "
                f"not {backend!r}: the rpc backend sends them only to the caller.",
                hint="Use Redis, a database (django-celery-results) or another stored backend.",
                id=f"{PREFIX}.W007",
            )
        ]
    return []


def _status_url_included() -> bool:
    try:
        reverse("django_notify_tasks:task-status", kwargs={"task_id": "check"})
    except NoReverseMatch:
        return False
    except Exception:  # a URLconf that does not import: Django's own URL checks report it
        return False
    return True
