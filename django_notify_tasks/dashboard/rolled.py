"""The dashboard's figures from the hourly rows where they are rolled up, from the log
where they are not: the hours since the last rolled one, and the rolled hours whose
deliveries changed since they were rolled (dashboard/rollup.py). The sum is what the log
alone would give, with a few thousand rows read for a month instead of every delivery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from django_notify_tasks.dashboard import queries, rollup
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.dashboard.sql import TimeBucket
from django_notify_tasks.models import Delivery, HourlyCount, HourlyDelay, HourlyFailure


@dataclass(frozen=True)
class Split:
    """Rolled rows for ``[period.start, live_from)`` but the ``changed`` hours; the log
    for the rest of the period."""

    period: DashboardPeriod
    live_from: datetime
    changed: list[datetime] = field(default_factory=list)

    def live_rows(self) -> QuerySet[Delivery]:
        wanted = Q(created_at__gte=self.live_from)
        for hour in self.changed:
            wanted |= Q(created_at__gte=hour, created_at__lt=hour + rollup.ONE_HOUR)
        return queries.created_in(self.period).filter(wanted)

    def rolled(self, model: Any) -> QuerySet[Any]:
        rows: QuerySet[Any] = model.objects.filter(
            hour__gte=self.period.start, hour__lt=self.live_from
        )
        return rows.exclude(hour__in=self.changed) if self.changed else rows


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
    rolled = (
        split.rolled(HourlyDelay)
        .values_list("rule", "channel", "bucket")
        .annotate(total=Sum("count"))
        .order_by()
    )
    for rule, channel, bucket, total in rolled:
        found[(rule, channel, bucket)] += total
    histograms: dict[queries.Group, dict[int, int]] = {}
    for (rule, channel, bucket), count in found.items():
        histograms.setdefault((rule, channel), {})[bucket] = count
    return dict(sorted(histograms.items()))
