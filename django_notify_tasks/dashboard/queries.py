"""The dashboard's aggregate queries of the delivery log, whatever the number of rows.

Each query filters on an indexed column range (migration 0006: ``created_at`` first for
the counts, ``status`` then ``created_at`` for the failures, the delays and the backlog)
and groups in the database; what comes back is bounded by the buckets, channels,
statuses and rules, never by the deliveries. The page runs them on the part of a period
the hourly rollup does not hold (rolled.py); the rollup runs them hour by hour (rollup.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Min, QuerySet, Value
from django.db.models.functions import Substr

from django_notify_tasks.dashboard import latency
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.dashboard.reasons import short_reason
from django_notify_tasks.dashboard.sql import SecondsBetween, TimeBucket
from django_notify_tasks.models import Delivery
from django_notify_tasks.models.deliveries import UNFINISHED_DELIVERIES

TOP_REASONS = 8
# Distinct error texts fetched before they are shortened and grouped: enough that the
# most frequent short reasons are complete, bounded however varied the errors are.
REASON_TEXTS = 200
REASON_PREFIX = 200  # characters of an error that can make its short reason
# Sent deliveries whose delay is measured, at most (about): each needs its notification's
# row, so past this the page measures one in n, which leaves the percentiles' error far
# below a histogram step (the 99th of 50,000 still has 500 delays above it).
MAX_DELAY_ROWS = 50_000

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
    return bucket_counts(created_in(period), period.unit)


def bucket_counts(rows: QuerySet[Delivery], unit: str) -> dict[tuple[str, str, str], int]:
    """``{(bucket, channel, status): deliveries}`` of ``rows``, by hour or day."""
    found = (
        rows.annotate(bucket=TimeBucket("created_at", unit))
        .values_list("bucket", "channel", "status")
        .annotate(count=Count("*"))
        .order_by()
    )
    return {(bucket, channel, status): count for bucket, channel, status, count in found}


def failure_reasons(period: DashboardPeriod, limit: int = TOP_REASONS) -> list[Reason]:
    """The most frequent short reasons of the period's failed deliveries, per channel."""
    grouped = failure_counts(created_in(period), texts=REASON_TEXTS)
    by_reason = {(reason, channel): n for (_, reason, channel), n in grouped.items()}
    return top_reasons(by_reason, limit)


def failure_counts(
    rows: QuerySet[Delivery], unit: str | None = None, texts: int | None = None
) -> dict[tuple[str, str, str], int]:
    """``{(bucket, short reason, channel): failed}`` of ``rows`` (bucket ``""`` without a
    ``unit``), from the ``texts`` most frequent error texts (None: all of them)."""
    bucket = TimeBucket("created_at", unit) if unit else Value("")
    found = (
        rows.filter(status=Delivery.Status.FAILED)
        .values_list(bucket, "channel", Substr("error", 1, REASON_PREFIX))
        .annotate(count=Count("*"))
        .order_by("-count")
    )
    grouped: dict[tuple[str, str, str], int] = defaultdict(int)
    for key, channel, error, count in found if texts is None else found[:texts]:
        grouped[(key, short_reason(error or ""), channel)] += count
    return dict(grouped)


def top_reasons(grouped: dict[tuple[str, str], int], limit: int = TOP_REASONS) -> list[Reason]:
    """``{(reason, channel): failed}`` ranked, the most frequent first."""
    ranked = sorted(grouped.items(), key=lambda item: (-item[1], item[0]))
    return [Reason(reason, channel, count) for (reason, channel), count in ranked[:limit]]


def sample_step(sent: int) -> int:
    """Measure the deliveries of one notification in this many (a prime, so that no
    regular pattern of ids lines up with it), about ``MAX_DELAY_ROWS`` at most."""
    step = max(1, math.ceil(sent / MAX_DELAY_ROWS))
    while step > 1 and any(step % d == 0 for d in range(2, math.isqrt(step) + 1)):
        step += 1
    return step


def delay_histograms(
    period: DashboardPeriod, every: int = 1, rows: QuerySet[Delivery] | None = None
) -> dict[Group, dict[int, int]]:
    """``{(rule, channel): {bucket: deliveries}}``: event-to-send delays of sent deliveries,
    of the notifications whose id is a multiple of ``every`` (1: all of them).

    By notification, not by delivery: a notification's deliveries have consecutive ids, so
    a step on theirs would keep one channel and drop the other."""
    found = delay_counts(created_in(period) if rows is None else rows, every=every)
    histograms: dict[Group, dict[int, int]] = defaultdict(dict)
    for (_, rule, channel, bucket), count in found.items():
        histograms[(rule, channel)][bucket] = count
    return dict(sorted(histograms.items()))


def delay_counts(
    rows: QuerySet[Delivery], unit: str | None = None, every: int = 1
) -> dict[tuple[str, str, str, int], int]:
    """``{(time bucket, rule, channel, delay bucket): sent}`` of ``rows`` (time bucket
    ``""`` without a ``unit``)."""
    rows = rows.filter(status=Delivery.Status.SENT, sent_at__isnull=False)
    if every > 1:
        rows = rows.annotate(sample=F("notification_id") % every).filter(sample=0)
    found = (
        rows.annotate(delay=SecondsBetween("notification__created_at", "sent_at"))
        .annotate(bucket=latency.bucket_of("delay"))
        .values_list(
            TimeBucket("created_at", unit) if unit else Value(""),
            "notification__rule",
            "channel",
            "bucket",
        )
        .annotate(count=Count("*"))
        .order_by()
    )
    return {(key, rule, channel, bucket): count for key, rule, channel, bucket, count in found}


def unfinished_now() -> list[Unfinished]:
    """What is waiting or being sent right now, per channel and status, and since when."""
    found = (
        Delivery.objects.filter(status__in=UNFINISHED_DELIVERIES)
        .values_list("channel", "status")
        .annotate(count=Count("*"), oldest=Min("created_at"))
        .order_by("channel", "status")
    )
    return [Unfinished(*row) for row in found]
