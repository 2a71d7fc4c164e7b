"""Write the beat schedule into django-celery-beat's tables, for its DatabaseScheduler.

Rows are matched by name. The sync owns the rows whose name starts with ``beat.ENTRY_PREFIX``: it
creates, updates and deletes those, and never touches any other row (entries added through
``NOTIFY_TASKS_BEAT_SCHEDULE`` under another name are created and updated, never deleted).
``enabled`` is set only when a row is created, so an entry an admin disabled stays disabled.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import schedules
from django.apps import apps
from django.db import transaction
from django.db.models import Q

from django_notify_tasks.beat import ENTRY_PREFIX, beat_schedule
from django_notify_tasks.exceptions import NotifyTasksError

DESCRIPTION = (
    "Managed by django-notify-tasks: manage.py notify_tasks_sync_beat overwrites changes "
    "to this row from NOTIFY_TASKS_BEAT_SCHEDULE, except 'enabled'."
)
ENTRY_KEYS = frozenset({"task", "schedule", "args", "kwargs", "options"})
# Celery options PeriodicTask keeps in a field of the same name; "expires" is mapped by type.
TEXT_OPTIONS = ("queue", "exchange", "routing_key")  # PeriodicTask.save() turns "" into None
NUMBER_OPTIONS = ("priority", "expire_seconds", "expires")
SCHEDULE_KINDS = ("interval", "crontab", "solar", "clocked")
CRON_PARTS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
PERIODS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


class BeatNotInstalled(NotifyTasksError):
    """django-celery-beat is not installed, or not in ``INSTALLED_APPS``."""


class BeatEntryError(NotifyTasksError, ValueError):
    """A schedule entry cannot be stored in django-celery-beat's ``PeriodicTask``."""


def beat_models() -> Any:
    """The ``django_celery_beat.models`` module, or ``BeatNotInstalled`` saying what to do."""
    if importlib.util.find_spec("django_celery_beat") is None:
        raise BeatNotInstalled(
            "django-celery-beat is not installed. Install the extra: "
            "pip install 'django-notify-tasks[beat]', add 'django_celery_beat' to "
            "INSTALLED_APPS and run migrate."
        )
    if not apps.is_installed("django_celery_beat"):
        raise BeatNotInstalled(
            "'django_celery_beat' should be in INSTALLED_APPS: add it and run migrate."
        )
    from django_celery_beat import models

    return models


# Schedules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    every: int
    period: str

    kind = "interval"

    def __str__(self) -> str:
        return f"every {self.every} {self.period[:-1] if self.every == 1 else self.period}"

    def matches(self, row: Any) -> bool:
        return row is not None and (row.every, row.period) == (self.every, self.period)

    def find_or_create(self, models: Any) -> Any:
        return _find_or_create(models.IntervalSchedule, every=self.every, period=self.period)


@dataclass(frozen=True)
class Crontab:
    minute: str
    hour: str
    day_of_week: str
    day_of_month: str
    month_of_year: str
    timezone: str

    kind = "crontab"

    def __str__(self) -> str:
        fields = (self.minute, self.hour, self.day_of_month, self.month_of_year, self.day_of_week)
        return f"crontab {' '.join(fields)} ({self.timezone})"

    def matches(self, row: Any) -> bool:
        if row is None:
            return False
        values = {name: getattr(row, name) for name in self.__dataclass_fields__}
        return {**values, "timezone": _zone_name(values["timezone"])} == vars(self)

    def find_or_create(self, models: Any) -> Any:
        return _find_or_create(models.CrontabSchedule, **vars(self))


def _find_or_create(model: Any, **fields: Any) -> Any:
    # The schedule tables have no unique constraints: reuse the oldest equal row.
    return model.objects.filter(**fields).order_by("pk").first() or model.objects.create(**fields)


def to_schedule(name: str, value: Any) -> Interval | Crontab:
    """The row form of a beat ``schedule`` value: whole seconds, or a crontab."""
    value = schedules.maybe_schedule(value)
    if isinstance(value, schedules.crontab):
        parts = {part: _cron_field(getattr(value, f"_orig_{part}")) for part in CRON_PARTS}
        return Crontab(**parts, timezone=_zone_name(value.tz))
    if isinstance(value, schedules.schedule):
        seconds = float(value.seconds)
        if seconds < 1 or seconds != int(seconds):
            raise BeatEntryError(
                f"Beat entry {name!r}: a schedule of {seconds!r} seconds cannot be stored; "
                "django-celery-beat keeps intervals in whole seconds, at least 1."
            )
        every, period = next(
            (int(seconds) // size, period) for period, size in PERIODS if seconds % size == 0
        )
        return Interval(every, period)
    raise BeatEntryError(
        f"Beat entry {name!r}: schedule {value!r} should be a number of seconds, a timedelta "
        "or a crontab; other kinds are not synced."
    )


def _cron_field(value: Any) -> str:
    if isinstance(value, str | int):
        return str(value).replace(" ", "")
    return ",".join(str(item) for item in sorted(value))


def _zone_name(zone: Any) -> str:
    return str(getattr(zone, "key", None) or zone)


# Rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """What the sync wants one ``PeriodicTask`` row to say."""

    name: str
    task: str
    schedule: Interval | Crontab
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)  # PeriodicTask field -> value

    def fields(self) -> dict[str, Any]:
        """The fields the sync owns, decoded (JSON fields as Python values)."""
        return {
            "task": self.task,
            "args": self.args,
            "kwargs": self.kwargs,
            "headers": self.options.get("headers", {}),
            **{name: self.options.get(name) or None for name in TEXT_OPTIONS},
            **{name: self.options.get(name) for name in NUMBER_OPTIONS},
            "description": DESCRIPTION,
        }

    def differences(self, row: Any) -> list[str]:
        """Names of what differs from ``row``: ``schedule``, ``task``, ``args``, ..."""
        current = {
            "task": row.task,
            "args": _json(row.args, []),
            "kwargs": _json(row.kwargs, {}),
            "headers": _json(row.headers, {}),
            **{name: getattr(row, name) or None for name in TEXT_OPTIONS},
            **{name: getattr(row, name) for name in NUMBER_OPTIONS},
            "description": row.description,
        }
        differing = [name for name, value in self.fields().items() if current[name] != value]
        scheduled = [kind for kind in SCHEDULE_KINDS if getattr(row, f"{kind}_id") is not None]
        kind = self.schedule.kind
        if scheduled != [kind] or not self.schedule.matches(getattr(row, kind)):
            differing.insert(0, "schedule")
        return differing

    def write(self, row: Any, models: Any) -> None:
        """Set every field the sync owns on ``row`` and save it (``enabled`` is left alone)."""
        for name, value in self.fields().items():
            encode = name in ("args", "kwargs", "headers")
            setattr(row, name, json.dumps(value) if encode else value)
        for kind in SCHEDULE_KINDS:
            setattr(row, kind, None)
        setattr(row, self.schedule.kind, self.schedule.find_or_create(models))
        row.save()


def _json(text: str | None, empty: Any) -> Any:
    try:
        return json.loads(text) if text else empty
    except ValueError:
        return None  # an admin wrote something that is not JSON: it differs


def to_wanted(name: str, entry: Mapping[str, Any]) -> Wanted:
    """Validate one beat entry and turn it into the row it should be."""
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise BeatEntryError(
            f"Beat entry {name!r}: {unknown!r} cannot be stored in django-celery-beat; "
            f"use only {sorted(ENTRY_KEYS)!r}."
        )
    if len(name) > 200:
        raise BeatEntryError(f"Beat entry {name[:40]!r}...: names are at most 200 characters.")
    return Wanted(
        name=name,
        task=entry["task"],
        schedule=to_schedule(name, entry["schedule"]),
        args=list(entry.get("args") or []),
        kwargs=dict(entry.get("kwargs") or {}),
        options=_row_options(name, entry.get("options") or {}),
    )


def _row_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for option, value in options.items():
        if option in (*TEXT_OPTIONS, "priority", "expire_seconds"):
            row[option] = value
        elif option == "headers" and isinstance(value, Mapping):
            row["headers"] = dict(value)
        elif option == "expires" and isinstance(value, datetime.datetime):
            row["expires"] = value
        elif option == "expires" and isinstance(value, int | float) and value >= 1:
            row["expire_seconds"] = int(value)
        else:
            raise BeatEntryError(
                f"Beat entry {name!r}: option {option}={value!r} cannot be stored in "
                "django-celery-beat; it keeps queue, exchange, routing_key, priority, headers "
                "and expires (seconds or a datetime)."
            )
    return row


# The sync ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What the sync did, or would do, to one row."""

    action: str  # "create", "update", "delete" or "keep"
    name: str
    detail: str = ""
    enabled: bool = True


def sync_beat(
    entries: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    dry_run: bool = False,
) -> list[Change]:
    """Make the ``PeriodicTask`` rows match ``entries`` (default: ``beat_schedule()``).

    Every entry is validated before anything is written; the rows change in one transaction.
    """
    models = beat_models()
    wanted = [to_wanted(name, entry) for name, entry in (entries or beat_schedule()).items()]
    names = {want.name for want in wanted}
    with transaction.atomic():
        ours = Q(name__in=names) | Q(name__startswith=ENTRY_PREFIX)
        found = models.PeriodicTask.objects.filter(ours).select_related("interval", "crontab")
        rows = {row.name: row for row in found}
        changes = [_sync_one(want, rows.get(want.name), models, dry_run) for want in wanted]
        for name in sorted(set(rows) - names):
            if not dry_run:
                rows[name].delete()
            changes.append(Change("delete", name, enabled=rows[name].enabled))
        if not dry_run and any(change.action != "keep" for change in changes):
            models.PeriodicTasks.update_changed()  # beat reloads its schedule on the next tick
    return changes


def _sync_one(want: Wanted, row: Any, models: Any, dry_run: bool) -> Change:
    if row is None:
        if not dry_run:
            want.write(models.PeriodicTask(name=want.name, enabled=True), models)
        return Change("create", want.name, str(want.schedule))
    differing = want.differences(row)
    if differing and not dry_run:
        want.write(row, models)
    action = "update" if differing else "keep"
    return Change(action, want.name, ", ".join(differing) or str(want.schedule), row.enabled)
