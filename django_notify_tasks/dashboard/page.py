"""The dashboard's content for one period: its figures turned into charts and tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from django_notify_tasks.dashboard import charts, latency, queries, rolled
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.dashboard.user_counts import read_user_counts
from django_notify_tasks.models import Delivery

# Stacked from the bottom: what went out first, then what went wrong, then what waits.
STATUSES = [
    Delivery.Status.SENT.value,
    Delivery.Status.FAILED.value,
    Delivery.Status.RETRYING.value,
    Delivery.Status.SENDING.value,
    Delivery.Status.PENDING.value,
    Delivery.Status.SKIPPED.value,
    Delivery.Status.CANCELLED.value,
]


@dataclass
class Dashboard:
    period: DashboardPeriod
    totals: dict[str, int]
    over_time: list[charts.Chart]
    reasons: charts.Chart
    delays: charts.Chart
    unfinished: list[queries.Unfinished]
    users: charts.Chart | None
    users_problem: str = ""
    delay_sample_step: int = 1


def build_dashboard(period: DashboardPeriod) -> Dashboard:
    """Every figure of the page: ten queries (rolled.py) and the user-count file's end."""
    where = rolled.split(period)
    live = queries.bucket_counts(where.live_rows(), period.unit)
    counts = rolled.counts(where, live)
    totals = status_totals(counts)
    every = queries.sample_step(status_totals(live)[Delivery.Status.SENT])
    users = read_user_counts(period)
    return Dashboard(
        period=period,
        totals=totals,
        over_time=over_time_charts(period, counts),
        reasons=reasons_chart(rolled.failure_reasons(where)),
        delays=delays_chart(rolled.delay_histograms(where, every)),
        unfinished=queries.unfinished_now(),
        users=(
            charts.lines(_("Users"), "users", period.labels(), users.series)
            if users.series
            else None
        ),
        users_problem=users.problem,
        delay_sample_step=every,
    )


def status_totals(counts: dict[tuple[str, str, str], int]) -> dict[str, int]:
    totals = dict.fromkeys(STATUSES, 0)
    for (_bucket, _channel, status), count in counts.items():
        totals[status] = totals.get(status, 0) + count
    return {"all": sum(totals.values()), **totals}


def over_time_charts(
    period: DashboardPeriod, counts: dict[tuple[str, str, str], int]
) -> list[charts.Chart]:
    """One stacked column chart per channel: its deliveries per bucket, by status."""
    keys = period.keys()
    channels = sorted({channel for _bucket, channel, _status in counts})
    found = []
    for channel in channels:
        series = {
            status: [counts.get((key, channel, status), 0) for key in keys] for status in STATUSES
        }
        title = _("Deliveries by %(channel)s") % {"channel": channel}
        found.append(
            charts.stacked_columns(title, f"deliveries-{channel}", period.labels(), series)
        )
    return found


def reasons_chart(reasons: list[queries.Reason]) -> charts.Chart:
    rows: list[tuple[list[str], dict[str, Any]]] = [
        ([reason.reason, reason.channel], {_("failed"): reason.count}) for reason in reasons
    ]
    return charts.bar_rows(
        _("Top failure reasons"), "failure-reasons", [_("reason"), _("channel")], rows
    )


def delays_chart(histograms: dict[queries.Group, dict[int, int]]) -> charts.Chart:
    """p50, p95 and p99 per rule and channel, in seconds, with how many were measured."""
    rows: list[tuple[list[str], dict[str, Any]]] = []
    for (rule, channel), histogram in histograms.items():
        found = latency.percentiles(histogram)
        values: dict[str, Any] = {f"p{p}": found[p] for p in latency.PERCENTILES}
        rows.append(([rule, channel, f"{sum(histogram.values()):,}"], values))
    return charts.bar_rows(
        _("Time from event to delivery"),
        "delays",
        [_("rule"), _("channel"), _("measured")],
        rows,
        unit=" s",
    )
