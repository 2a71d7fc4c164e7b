"""The dashboard's figures: four aggregate queries, whatever the number of rows.

Each query filters on an indexed column range (migration 0006: ``created_at`` first for
the counts, ``status`` then ``created_at`` for the failures, the delays and the backlog)
and groups in the database; what comes back is bounded by the buckets, channels,
statuses and rules, never by the deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Substr

from django_notify_tasks.dashboard import latency
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.dashboard.reasons import short_reason
from django_notify_tasks.dashboard.sql import SecondsBetween, TimeBucket
from django_notify_tasks.models import Delivery
from django_notify_tasks.reports.purge import UNFINISHED_DELIVERIES

TOP_REASONS = 8
# Distinct error texts fetched before they are shortened and grouped: enough that the
# most frequent short reasons are complete, bounded however varied the errors are.
REASON_TEXTS = 200
REASON_PREFIX = 200  # characters of an error that can make its short reason

Group = tuple[str, str]  # (rule, channel)


@dataclass(frozen=True)
class Reason:
    reason: str
    channel: str
    count: int


@dataclass(frozen=True)
class Unfinished:
    channel: str
    status: str
    count: int
    oldest: datetime | None


def created_in(period: DashboardPeriod) -> QuerySet[Delivery]:
    return Delivery.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def counts_over_time(period: DashboardPeriod) -> dict[tuple[str, str, str], int]:
    """``{(bucket, channel, status): deliveries}`` of the deliveries made in the period."""
    found = (
        created_in(period)
        .annotate(bucket=TimeBucket("created_at", period.unit))
        .values_list("bucket", "channel", "status")
        .annotate(count=Count("*"))
        .order_by()
    )
    return {(bucket, channel, status): count for bucket, channel, status, count in found}


def failure_reasons(period: DashboardPeriod, limit: int = TOP_REASONS) -> list[Reason]:
    """The most frequent short reasons of the period's failed deliveries, per channel."""
    found = (
        created_in(period)
        .filter(status=Delivery.Status.FAILED)
        .values_list("channel", Substr("error", 1, REASON_PREFIX))
        .annotate(count=Count("*"))
        .order_by("-count")[:REASON_TEXTS]
    )
    grouped: dict[tuple[str, str], int] = defaultdict(int)
    for channel, error, count in found:
        grouped[(short_reason(error or ""), channel)] += count
    ranked = sorted(grouped.items(), key=lambda item: (-item[1], item[0]))
    return [Reason(reason, channel, count) for (reason, channel), count in ranked[:limit]]


def delay_histograms(period: DashboardPeriod) -> dict[Group, dict[int, int]]:
    """``{(rule, channel): {bucket: deliveries}}``: event-to-send delays of sent deliveries."""
    found = (
        created_in(period)
        .filter(status=Delivery.Status.SENT, sent_at__isnull=False)
        .annotate(delay=SecondsBetween("notification__created_at", "sent_at"))
        .annotate(bucket=latency.bucket_of("delay"))
        .values_list("notification__rule", "channel", "bucket")
        .annotate(count=Count("*"))
        .order_by()
    )
    histograms: dict[Group, dict[int, int]] = defaultdict(dict)
    for rule, channel, bucket, count in found:
        histograms[(rule, channel)][bucket] = count
    return dict(sorted(histograms.items()))


def unfinished_now() -> list[Unfinished]:
    """What is waiting or being sent right now, per channel and status, and since when."""
    found = (
        Delivery.objects.filter(status__in=UNFINISHED_DELIVERIES)
        .values_list("channel", "status")
        .annotate(count=Count("*"), oldest=Min("created_at"))
        .order_by("channel", "status")
    )
    return [Unfinished(*row) for row in found]
