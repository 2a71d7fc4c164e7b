"""Report builders: user counts to a CSV file; purging old history in bounded batches."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError
from django_notify_tasks.models import Delivery, Notification

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends stay atomic, headers may repeat
    fcntl = None  # type: ignore[assignment]

USER_COUNTS_FILE = "user_counts.csv"
USER_COUNT_COLUMNS = ["timestamp", "total_users", "active_users", "joined_24h", "staff_users"]
PURGE_BATCH_SIZE = 1000
UNFINISHED_DELIVERIES = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.RETRYING,
]


class ReportDirError(NotifyTasksError, OSError):
    """``NOTIFY_TASKS_REPORT_DIR`` is unset, missing or not writable."""


def report_dir() -> Path:
    """The configured directory, checked, or ``ReportDirError`` saying what is wrong."""
    configured = app_settings.report_dir
    if not configured:
        raise ReportDirError("NOTIFY_TASKS_REPORT_DIR is not set: reports have nowhere to go")
    path = Path(configured)
    if not path.is_dir() or not os.access(path, os.W_OK):
        raise ReportDirError(f"NOTIFY_TASKS_REPORT_DIR {configured!r} is not a writable directory")
    return path


def count_users(now: datetime | None = None) -> dict[str, Any]:
    """One aggregate query; columns the user model lacks (e.g. is_staff) are left empty."""
    now = now or timezone.now()
    user_model = get_user_model()
    fields = {f.name for f in user_model._meta.get_fields()}
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
    row.update(user_model._default_manager.aggregate(**aggregates))
    return {column: row.get(column, "") for column in USER_COUNT_COLUMNS}


def user_count_report(now: datetime | None = None) -> dict[str, Any]:
    """Append one row to ``user_counts.csv`` in the report directory; return the row."""
    path = report_dir() / USER_COUNTS_FILE
    row = count_users(now)
    append_csv_row(path, USER_COUNT_COLUMNS, row)
    return row


def append_csv_row(path: Path, columns: list[str], row: dict[str, Any]) -> None:
    """Append ``row`` (and the header, for a new file) in one write, under an exclusive lock.

    O_APPEND makes each write land at the end; the lock keeps a concurrent run from writing
    its own header between our check and our write, so lines never interleave or split.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        if os.fstat(descriptor).st_size == 0:
            writer.writeheader()
        writer.writerow(row)
        os.write(descriptor, text.getvalue().encode())
    finally:
        os.close(descriptor)  # closing releases the lock


def purge_old(now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete finished notifications (and deliveries) older than the retention, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=app_settings.retention_days)
    # Unfinished work is never purged: a pending notification or an unsent delivery stays.
    finished = (
        Notification.objects.filter(created_at__lt=cutoff)
        .exclude(status=Notification.Status.PENDING)
        .exclude(deliveries__status__in=UNFINISHED_DELIVERIES)
    )
    deleted = 0
    while True:
        ids = list(finished.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        Notification.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
