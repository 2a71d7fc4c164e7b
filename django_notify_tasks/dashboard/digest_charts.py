"""The activity digest (its JSON values) as the dashboard's charts and tables."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from django_notify_tasks.dashboard import charts
from django_notify_tasks.dashboard.reasons import short_reason

COUNTS = ("sent", "failed", "pending", "skipped", "cancelled")


def digest_charts(digest: dict[str, Any]) -> list[charts.Chart]:
    """Deliveries, delivery times and failure reasons of one digest, per rule and channel."""
    groups = digest.get("rules") or []
    labels = [_("rule"), _("channel")]
    counts = [([g["rule"], g["channel"]], {name: g[name] for name in COUNTS}) for g in groups]
    times = [
        (
            [g["rule"], g["channel"]],
            {_("median"): g["median_seconds"], _("slowest"): g["slowest_seconds"]},
        )
        for g in groups
        if g["sent"]
    ]
    failures = [
        (
            [short_reason(f["reason"]), f"{f['rule']} \u00b7 {f['channel']}"],
            {_("failed"): f["count"]},
        )
        for f in digest.get("top_failures") or []
    ]
    return [
        charts.bar_rows(_("Deliveries by rule and channel"), "digest-deliveries", labels, counts),
        charts.bar_rows(_("Time from event to delivery"), "digest-times", labels, times, " s"),
        charts.bar_rows(
            _("Top failure reasons"), "digest-failures", [_("reason"), _("rule")], failures
        ),
    ]
