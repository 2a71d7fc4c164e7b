"""The period a digest covers: from task arguments (ISO 8601 strings, hours) to datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from django_notify_tasks.exceptions import NotifyTasksError

DEFAULT_HOURS = 24
MAX_HOURS = 24 * 3660  # ten years: a bound that keeps timedelta from overflowing
EXAMPLE = "2026-11-21T06:00:00+00:00"


class DigestPeriodError(NotifyTasksError, ValueError):
    """The start, end or hours given to the activity digest cannot make a period."""


@dataclass(frozen=True)
class Period:
    """``[start, end)``: the start is included, the end is not."""

    start: datetime
    end: datetime

    def as_json(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}

    def slug(self) -> str:
        """``20261121T060000Z_20261122T060000Z``: for file names, sortable, no colons."""
        return f"{_compact(self.start)}_{_compact(self.end)}"


def digest_period(
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    hours: float | None = None,
    *,
    now: datetime | None = None,
) -> Period:
    """The period from the task's arguments: ``end`` defaults to now, ``start`` to ``hours``
    (default 24) before ``end``. Naive times are in the current time zone."""
    if start is not None and hours is not None:
        raise DigestPeriodError(
            f"Give start or hours, not both (start={start!r}, hours={hours!r})."
        )
    end_at = _moment("end", end) if end is not None else (now or timezone.now())
    if start is not None:
        start_at = _moment("start", start)
    else:
        start_at = end_at - timedelta(hours=_hours(hours))
    if start_at >= end_at:
        raise DigestPeriodError(f"start ({iso(start_at)}) should be before end ({iso(end_at)}).")
    return Period(start_at, end_at)


def _hours(hours: object) -> float:
    if hours is None:
        return DEFAULT_HOURS
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= MAX_HOURS:
        raise DigestPeriodError(
            f"hours should be a number of hours above 0, at most {MAX_HOURS}, not {hours!r}."
        )
    return float(hours)


def _moment(name: str, value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        moment = _parse(name, value)
    else:
        raise DigestPeriodError(
            f"{name} should be an ISO 8601 string such as {EXAMPLE!r}, not {value!r}."
        )
    if settings.USE_TZ and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    if not settings.USE_TZ and timezone.is_aware(moment):
        return timezone.make_naive(moment)
    return moment


def _parse(name: str, text: str) -> datetime:
    try:
        moment = parse_datetime(text.strip())
        day = None if moment else parse_date(text.strip())
    except ValueError:  # well formed but impossible, e.g. month 13
        moment = day = None
    if moment is None and day is None:
        raise DigestPeriodError(
            f"{name} should be an ISO 8601 date or date and time such as {EXAMPLE!r}, "
            f"not {text!r}."
        )
    return moment or datetime.combine(day, time())  # type: ignore[arg-type]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(dt_timezone.utc) if timezone.is_aware(moment) else moment


def iso(moment: datetime) -> str:
    """UTC (when aware), to the second: ``2026-11-22T06:00:00+00:00``."""
    return _utc(moment).isoformat(timespec="seconds")


def _compact(moment: datetime) -> str:
    return _utc(moment).strftime("%Y%m%dT%H%M%S") + ("Z" if timezone.is_aware(moment) else "")
