"""User counts: a row appended to ``user_counts.csv``, and new users over a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from django_notify_tasks.reports.files import append_csv_row, report_dir

USER_COUNTS_FILE = "user_counts.csv"
USER_COUNT_COLUMNS = ["timestamp", "total_users", "active_users", "joined_24h", "staff_users"]


def _user_fields() -> set[str]:
    return {f.name for f in get_user_model()._meta.get_fields()}


def count_users(now: datetime | None = None) -> dict[str, Any]:
    """One aggregate query; columns the user model lacks (e.g. is_staff) are left empty."""
    now = now or timezone.now()
    fields = _user_fields()
    filters = {
        "active_users": Q(is_active=True) if "is_active" in fields else None,
        "joined_24h": Q(date_joined__gte=now - timedelta(hours=24))
        if "date_joined" in fields
        else None,
        "staff_users": Q(is_staff=True) if "is_staff" in fields else None,
    }
    aggregates = {"total_users": Count("pk")}
    aggregates.update(
        {name: Count("pk", filter=q) for name, q in filters.items() if q is not None}
    )
    row: dict[str, Any] = {
        "timestamp": now.astimezone(dt_timezone.utc).isoformat(timespec="seconds")
    }
    row.update(get_user_model()._default_manager.aggregate(**aggregates))
    return {column: row.get(column, "") for column in USER_COUNT_COLUMNS}


def user_count_report(now: datetime | None = None) -> dict[str, Any]:
    """Append one row to ``user_counts.csv`` in the report directory; return the row."""
    path = report_dir() / USER_COUNTS_FILE
    row = count_users(now)
    append_csv_row(path, USER_COUNT_COLUMNS, row)
    return row


def count_new_users(start: datetime, end: datetime) -> int | None:
    """Users who joined in ``[start, end)``, in one query; None without ``date_joined``."""
    if "date_joined" not in _user_fields():
        return None
    joined = Q(date_joined__gte=start, date_joined__lt=end)
    return int(get_user_model()._default_manager.filter(joined).count())
