"""The activity digest's figures, from a fixed number of aggregate queries.

Four queries whatever the number of rows: counts and the slowest delivery per rule and
channel; the median per rule and channel (window functions: the database ranks the sent
deliveries and returns only the middle one or two of each group); the top failure reasons;
the users who joined. Nothing loads one row per delivery into Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from django_notify_tasks.models import Delivery
from django_notify_tasks.reports.period import Period, iso
from django_notify_tasks.reports.purge import UNFINISHED_DELIVERIES
from django_notify_tasks.reports.users import count_new_users

TOP_FAILURES = 5
MAX_REASON_LENGTH = 500
QUERY_STEPS = 4  # how many times build_digest calls ``advance``
GROUP = ("notification__rule", "channel")
STATUS_COUNTS = {
    "sent": Q(status=Delivery.Status.SENT),
    "failed": Q(status=Delivery.Status.FAILED),
    "pending": Q(status__in=UNFINISHED_DELIVERIES),
    "cancelled": Q(status=Delivery.Status.CANCELLED),
    # Not sent on purpose (opted out, inactive, no address): final, and no failure.
    "skipped": Q(status=Delivery.Status.SKIPPED),
}
# From the event (the notification row, written in the host's transaction) to the send.
DELAY = ExpressionWrapper(
    F("sent_at") - F("notification__created_at"), output_field=DurationField()
)
SENT_WITH_TIME = Q(status=Delivery.Status.SENT, sent_at__isnull=False)

Group = tuple[str, str]


def deliveries_in(period: Period) -> QuerySet[Delivery]:
    """Deliveries of the notifications created in the period (indexed ``created_at``)."""
    return Delivery.objects.filter(
        notification__created_at__gte=period.start, notification__created_at__lt=period.end
    )


def counts_by_group(rows: QuerySet[Delivery]) -> dict[Group, dict[str, Any]]:
    """Per (rule, channel): deliveries by status and the slowest delivery time. One query."""
    aggregates: dict[str, Any] = {name: Count("pk", filter=q) for name, q in STATUS_COUNTS.items()}
    aggregates["slowest"] = Max(DELAY, filter=SENT_WITH_TIME)
    found = rows.values(*GROUP).annotate(**aggregates).order_by(*GROUP)
    return {(row.pop(GROUP[0]), row.pop(GROUP[1])): row for row in found}


def medians_by_group(rows: QuerySet[Delivery]) -> dict[Group, timedelta]:
    """Per (rule, channel): the median delivery time of sent deliveries. One query.

    The database ranks each group's sent deliveries by delay (position ``p`` of ``n``) and
    returns only the middle: the rows with ``n <= 2p <= n + 2``, one row for an odd ``n``
    and two for an even one, whose mean is the median. Window functions and integer
    arithmetic only, so the same SQL works on SQLite 3.25+, PostgreSQL, MySQL 8, MariaDB.
    """
    partition = [F(name) for name in GROUP]
    ranked = (
        rows.filter(SENT_WITH_TIME)
        .order_by()
        .annotate(
            delay=DELAY,
            size=Window(Count("pk"), partition_by=partition),
            twice_position=Window(
                RowNumber(), partition_by=partition, order_by=[DELAY.asc(), "pk"]
            )
            * 2,
        )
    )
    middle = ranked.filter(
        twice_position__gte=F("size"), twice_position__lte=F("size") + 2
    ).values_list(*GROUP, "delay")
    delays: dict[Group, list[timedelta]] = defaultdict(list)
    for rule, channel, delay in middle:
        delays[(rule, channel)].append(delay)
    return {group: sum(found, timedelta()) / len(found) for group, found in delays.items()}


def top_failures(rows: QuerySet[Delivery], limit: int = TOP_FAILURES) -> list[dict[str, Any]]:
    """The most frequent failure reasons, with their rule and channel. One query."""
    found = (
        rows.filter(status=Delivery.Status.FAILED)
        .values(*GROUP, "error")
        .annotate(count=Count("pk"))
        .order_by("-count", *GROUP, "error")[:limit]
    )
    return [
        {
            "rule": row[GROUP[0]],
            "channel": row[GROUP[1]],
            "reason": _shorten(row["error"] or "(no reason recorded)"),
            "count": row["count"],
        }
        for row in found
    ]


def build_digest(period: Period, advance: Callable[[], None]) -> dict[str, Any]:
    """The digest as plain JSON values; ``advance()`` is called after each query."""
    rows = deliveries_in(period)
    counts = counts_by_group(rows)
    advance()
    medians = medians_by_group(rows)
    advance()
    failures = top_failures(rows)
    advance()
    new_users = count_new_users(period.start, period.end)
    advance()
    groups = [
        {
            "rule": rule,
            "channel": channel,
            **{name: row[name] for name in STATUS_COUNTS},
            "median_seconds": _seconds(medians.get((rule, channel))),
            "slowest_seconds": _seconds(row["slowest"]),
        }
        for (rule, channel), row in counts.items()
    ]
    return {
        "report": "activity_digest",
        "generated_at": iso(timezone.now()),
        "period": period.as_json(),
        "totals": _totals(groups),
        "rules": groups,
        "top_failures": failures,
        "new_users": new_users,
    }


def _totals(groups: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {name: sum(g[name] for g in groups) for name in STATUS_COUNTS}
    slowest = [g["slowest_seconds"] for g in groups if g["slowest_seconds"] is not None]
    totals["slowest_seconds"] = max(slowest, default=None)
    return totals


def _seconds(delay: timedelta | None) -> float | None:
    return None if delay is None else round(delay.total_seconds(), 3)


def _shorten(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) <= MAX_REASON_LENGTH:
        return reason
    return reason[: MAX_REASON_LENGTH - 1] + "\u2026"
