"""The dashboard's figures from the hourly rows where they are rolled up, from the log
where they are not: the hours since the last rolled one, and the rolled hours whose
deliveries changed since they were rolled (dashboard/rollup.py). The sum is what the log
alone would give, with a few thousand rows read for a month instead of every delivery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from django_notify_tasks.dashboard import queries, rollup
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.dashboard.sql import TimeBucket
from django_notify_tasks.models import (
    DailyDelay,
    Delivery,
    HourlyCount,
    HourlyDelay,
    HourlyFailure,
)


@dataclass(frozen=True)
class Split:
    """Rolled rows for ``[period.start, live_from)`` but the ``changed`` hours; the log
    for the rest of the period."""

    period: DashboardPeriod
    live_from: datetime
    changed: list[datetime] = field(default_factory=list)

    def live_rows(self) -> QuerySet[Delivery]:
        """The deliveries of the hours not rolled and of the changed ones: ranges of
        ``created_at`` joined by OR, each one an index range (no outer range around them,
        which the planners would scan instead)."""
        ranges = [(hour, hour + rollup.ONE_HOUR) for hour in self.changed]
        return Delivery.objects.filter(within([*ranges, (self.live_from, self.period.end)]))

    def rolled(self, model: Any, ranges: list[Range] | None = None) -> QuerySet[Any]:
        """The rolled rows of ``model`` in ``ranges`` (default: the rolled part), but the
        changed hours."""
        ranges = [(self.period.start, self.live_from)] if ranges is None else ranges
        rows: QuerySet[Any] = model.objects.filter(within(ranges, "hour"))
        return rows.exclude(hour__in=self.changed) if self.changed else rows

    def whole_days(self) -> list[datetime]:
        """The days of the rolled part with no changed hour: their delays are summed."""
        first = rollup.day_of(self.period.start)
        if first < self.period.start:
            first += rollup.ONE_DAY
        changed = {rollup.day_of(hour) for hour in self.changed}
        days = []
        while first + rollup.ONE_DAY <= self.live_from:
            if first not in changed:
                days.append(first)
            first += rollup.ONE_DAY
        return days

    def hours_outside(self, days: list[datetime]) -> list[Range]:
        """The rolled part less ``days``, as ranges."""
        ranges, start = [], self.period.start
        for day in days:
            ranges.append((start, day))
            start = day + rollup.ONE_DAY
        return [*ranges, (start, self.live_from)]


Range = tuple[datetime, datetime]
NEVER = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)  # an empty range still makes a query


def within(ranges: list[Range], name: str = "created_at") -> Q:
    """``start <= name < end`` for any of the ranges, merged where they touch (an empty
    range if none is left)."""
    wanted: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if wanted and start <= wanted[-1][1]:  # touching or overlapping: one range
            wanted[-1] = (wanted[-1][0], max(end, wanted[-1][1]))
        else:
            wanted.append((start, end))
    found = Q()
    for start, end in wanted or [(NEVER, NEVER)]:
        found |= Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return found


def split(period: DashboardPeriod) -> Split:
    """Where each hour of the period is read from: two small queries (one when nothing
    was ever rolled)."""
    rolled_until, last_run = rollup.state()
    if rolled_until is None:
        return Split(period, period.start)
    live_from = min(max(rolled_until, period.start), period.end)
    start = max(period.start, rollup.frozen_before(timezone.now()))
    return Split(period, live_from, rollup.changed_hours(last_run, start, live_from))


def counts(split: Split, live: dict[tuple[str, str, str], int]) -> dict[tuple[str, str, str], int]:
    """``live`` (``queries.bucket_counts`` of the live rows) plus the rolled counts."""
    found = Counter(live)
    rolled = (
        split.rolled(HourlyCount)
        .annotate(bucket=TimeBucket("hour", split.period.unit))
        .values_list("bucket", "channel", "status")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for bucket, channel, status, total in rolled:
        found[(bucket, channel, status)] += total
    return dict(found)


def failure_reasons(split: Split) -> list[queries.Reason]:
    live = queries.failure_counts(split.live_rows(), texts=queries.REASON_TEXTS)
    found = Counter({(reason, channel): count for (_, reason, channel), count in live.items()})
    rolled = (
        split.rolled(HourlyFailure)
        .values_list("reason", "channel")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for reason, channel, total in rolled:
        found[(reason, channel)] += total
    return queries.top_reasons(dict(found))


def delay_histograms(split: Split, every: int = 1) -> dict[queries.Group, dict[int, int]]:
    """Every rolled delay, and the live ones of one notification in ``every``."""
    live = queries.delay_counts(split.live_rows(), every=every)
    found = Counter({key[1:]: count for key, count in live.items()})
    days = split.whole_days()
    daily = DailyDelay.objects.filter(within([(d, d + rollup.ONE_DAY) for d in days], "day"))
    hourly = split.rolled(HourlyDelay, split.hours_outside(days))
    for rows in (daily, hourly):
        summed = rows.values_list("rule", "channel", "bucket").annotate(total=Sum("count"))
        for rule, channel, bucket, total in summed.order_by():
            found[(rule, channel, bucket)] += total
    histograms: dict[queries.Group, dict[int, int]] = {}
    for (rule, channel, bucket), count in found.items():
        histograms.setdefault((rule, channel), {})[bucket] = count
    return dict(sorted(histograms.items()))
