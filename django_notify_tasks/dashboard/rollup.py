"""Rolling the delivery log up into hourly rows (models/rollups.py) for the dashboard.

A run rolls every hour that ended ``NOTIFY_TASKS_DASHBOARD_SETTLE`` seconds ago and was
not rolled yet, and rolls again the hours whose deliveries changed since the last run
(their ``updated_at``: every status change sets it). An hour is recomputed whole from the
log and its rows replaced, in one transaction, so a run can be repeated or race another
(the second one's rows collide on the unique constraints and it leaves the hour alone).
Hours older than ``NOTIFY_TASKS_RETENTION_DAYS`` are never rolled again: ``purge_old``
deletes their deliveries after rolling them, and the dashboard keeps their counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from django_notify_tasks.conf import app_settings
from django_notify_tasks.dashboard import queries
from django_notify_tasks.dashboard.periods import KEY_FORMAT
from django_notify_tasks.dashboard.sql import DAY, HOUR, TimeBucket
from django_notify_tasks.models import (
    DailyDelay,
    Delivery,
    HourlyCount,
    HourlyDelay,
    HourlyFailure,
    RolledHour,
)

ONE_HOUR, ONE_DAY = timedelta(hours=1), timedelta(days=1)
# Hours recomputed by one statement of each kind (and one transaction).
CHUNK_HOURS = 24
# A delivery updated this long before a run began may not have been visible to it (a
# transaction still open, clocks apart): changes are looked for from this much earlier.
CLOCK_MARGIN = timedelta(minutes=5)
OLDEST_SHOWN_DAYS = 31  # the dashboard's longest period, and the hour it starts in
ROLLED_UP = (HourlyCount, HourlyFailure, HourlyDelay, RolledHour)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def parse_hour(key: str, unit: str = HOUR) -> datetime:
    """The start of an hour (or day) as ``sql.TimeBucket`` names it (``2026-12-04 17``)."""
    return datetime.strptime(key, KEY_FORMAT[unit]).replace(tzinfo=dt_timezone.utc)


def day_of(moment: datetime) -> datetime:
    return hour_of(moment).replace(hour=0)


def frozen_before(now: datetime) -> datetime:
    """Hours before this are past the retention: never rolled again."""
    return hour_of(now - timedelta(days=app_settings.retention_days))


def kept_from(now: datetime) -> datetime:
    """Rolled rows older than this are deleted: the dashboard's longest period, or the
    retention if that is longer."""
    return day_of(now - timedelta(days=max(app_settings.retention_days, OLDEST_SHOWN_DAYS)))


def first_hour(now: datetime) -> datetime:
    """Where the first run starts: the oldest delivery, or where the rolled rows are kept
    from if that is later (unfinished rows are never purged)."""
    first = Delivery.objects.aggregate(first=Min("created_at"))["first"]
    return max(hour_of(first or now), kept_from(now))


def state() -> tuple[datetime | None, datetime | None]:
    """(the end of the last rolled hour, the start of the last run); None, None before any."""
    found = RolledHour.objects.aggregate(last=Max("hour"), run=Max("rolled_at"))
    return (found["last"] + ONE_HOUR if found["last"] else None), found["run"]


def changed_hours(since: datetime | None, start: datetime, end: datetime) -> list[datetime]:
    """The hours in ``[start, end)`` with deliveries updated at ``since`` or later: one
    query that reads only the rows changed since (the ``(status, updated_at)`` index; a
    range on ``created_at`` as well would tempt the planner to that column's index)."""
    if since is None or start >= end:
        return []
    rows = Delivery.objects.filter(
        status__in=Delivery.Status.values, updated_at__gte=since - CLOCK_MARGIN
    )
    keys = rows.values_list(TimeBucket("created_at", HOUR), flat=True).distinct().order_by()
    return sorted(hour for hour in map(parse_hour, keys) if start <= hour < end)


def roll_up(now: datetime | None = None) -> int:
    """Roll the settled hours not rolled yet and the changed ones; how many hours."""
    started = timezone.now()
    now = now or started
    settled = hour_of(now - timedelta(seconds=app_settings.dashboard_settle))
    rolled_until, last_run = state()
    hour = first_hour(now) if rolled_until is None else rolled_until
    hours = set(changed_hours(last_run, frozen_before(now), hour))
    while hour < settled:
        hours.add(hour)
        hour += ONE_HOUR
    for chunk in chunks(sorted(hours)):
        roll_hours(chunk, started)
    forget_before(kept_from(now))
    return len(hours)


def forget_before(moment: datetime) -> None:
    """Delete the rolled rows of the hours (and days) before ``moment``."""
    for model in ROLLED_UP:
        model.objects.filter(hour__lt=moment).delete()
    DailyDelay.objects.filter(day__lt=moment).delete()


def chunks(hours: list[datetime]) -> Iterator[list[datetime]]:
    """Runs of consecutive hours, ``CHUNK_HOURS`` at most each."""
    run: list[datetime] = []
    for hour in hours:
        if run and (hour - run[-1] != ONE_HOUR or len(run) == CHUNK_HOURS):
            yield run
            run = []
        run.append(hour)
    if run:
        yield run


def roll_hours(hours: list[datetime], started: datetime) -> None:
    """Recompute consecutive ``hours`` from the log and replace their rows."""
    rows = Delivery.objects.filter(created_at__gte=hours[0], created_at__lt=hours[-1] + ONE_HOUR)
    counts = queries.bucket_counts(rows, HOUR)
    failures = queries.failure_counts(rows, HOUR)
    delays = queries.delay_counts(rows, HOUR)
    try:
        with transaction.atomic():
            for model in ROLLED_UP:
                model.objects.filter(hour__in=hours).delete()
            RolledHour.objects.bulk_create(RolledHour(hour=h, rolled_at=started) for h in hours)
            HourlyCount.objects.bulk_create(counted(counts, HourlyCount, "channel", "status"))
            HourlyFailure.objects.bulk_create(
                counted(failures, HourlyFailure, "reason", "channel")
            )
            HourlyDelay.objects.bulk_create(
                counted(delays, HourlyDelay, "rule", "channel", "bucket")
            )
            sum_days(day_of(hours[0]), day_of(hours[-1]) + ONE_DAY)
    except IntegrityError:
        pass  # another run rolled these hours at the same time: its rows stand


def sum_days(start: datetime, end: datetime) -> None:
    """DailyDelay of the days in ``[start, end)`` again, from their HourlyDelay rows."""
    found = (
        HourlyDelay.objects.filter(hour__gte=start, hour__lt=end)
        .values_list(TimeBucket("hour", DAY), "rule", "channel", "bucket")
        .annotate(total=Sum("count"))
        .order_by()
    )
    DailyDelay.objects.filter(day__gte=start, day__lt=end).delete()
    DailyDelay.objects.bulk_create(
        DailyDelay(day=parse_hour(day, DAY), rule=rule, channel=channel, bucket=bucket, count=n)
        for day, rule, channel, bucket, n in found
    )


def counted(found: dict, model: type, *names: str) -> Iterable:  # type: ignore[type-arg]
    """Rows of ``model`` from ``{(hour key, *values of names): count}``."""
    for (key, *values), count in found.items():
        yield model(hour=parse_hour(key), count=count, **dict(zip(names, values, strict=True)))
