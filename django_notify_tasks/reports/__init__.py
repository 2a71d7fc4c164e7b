"""Reports: user counts to CSV, the activity digest (and its live progress), purging history.

The report tasks in ``django_notify_tasks.tasks`` call these functions; so does
``manage.py notify_tasks_report``.
"""

from __future__ import annotations

from django_notify_tasks.reports.activity import DigestNotSent, activity_digest
from django_notify_tasks.reports.files import (
    ReportDirError,
    append_csv_row,
    report_dir,
    write_json_atomic,
)
from django_notify_tasks.reports.live import (
    LiveProgress,
    digest_summary,
    percent_of,
    run_activity_digest,
    store_progress,
)
from django_notify_tasks.reports.period import DigestPeriodError, Period, digest_period
from django_notify_tasks.reports.purge import PURGE_BATCH_SIZE, purge_old
from django_notify_tasks.reports.users import (
    USER_COUNT_COLUMNS,
    USER_COUNTS_FILE,
    count_users,
    user_count_report,
)

__all__ = [
    "PURGE_BATCH_SIZE",
    "USER_COUNTS_FILE",
    "USER_COUNT_COLUMNS",
    "DigestNotSent",
    "DigestPeriodError",
    "LiveProgress",
    "Period",
    "ReportDirError",
    "activity_digest",
    "append_csv_row",
    "count_users",
    "digest_period",
    "digest_summary",
    "percent_of",
    "purge_old",
    "report_dir",
    "run_activity_digest",
    "store_progress",
    "user_count_report",
    "write_json_atomic",
]
