"""User counts over time, read from the end of the user-count report's CSV file."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.dateparse import parse_datetime

from django_notify_tasks.conf import app_settings
from django_notify_tasks.dashboard.periods import DashboardPeriod
from django_notify_tasks.reports.users import USER_COUNT_COLUMNS, USER_COUNTS_FILE

# The end of the file only: a row every five minutes for 30 days is about 500 kB.
MAX_BYTES = 1024 * 1024
SERIES = ("total_users", "active_users", "staff_users")


@dataclass
class UserCounts:
    """The last row of each bucket, per column; ``problem`` says why there is nothing."""

    series: dict[str, list[int | None]] = field(default_factory=dict)
    problem: str = ""


def read_user_counts(period: DashboardPeriod) -> UserCounts:
    """The period's counts from ``user_counts.csv``, or why they cannot be shown."""
    if not app_settings.report_dir:
        return UserCounts(problem="NOTIFY_TASKS_REPORT_DIR is not set.")
    path = Path(app_settings.report_dir) / USER_COUNTS_FILE
    try:
        text = tail(path, MAX_BYTES)
    except FileNotFoundError:
        return UserCounts(problem=f"{path} does not exist yet: the user-count report has not run.")
    except OSError as exc:
        return UserCounts(problem=f"{path} cannot be read: {exc}.")
    keys = period.keys()
    position = {key: index for index, key in enumerate(keys)}
    series: dict[str, list[int | None]] = {name: [None] * len(keys) for name in SERIES}
    for row in csv.DictReader(io.StringIO(text), fieldnames=USER_COUNT_COLUMNS):
        moment = parse_datetime(row.get("timestamp") or "")
        if moment is None or not period.start <= moment < period.end:
            continue  # the header, a row cut by the tail, or outside the period
        index = position[period.key_of(moment)]
        for name in SERIES:
            value = row.get(name) or ""
            series[name][index] = int(value) if value.isdigit() else None
    shown = {name: values for name, values in series.items() if any(v is not None for v in values)}
    return UserCounts(shown, "" if shown else "No user counts in this period.")


def tail(path: Path, limit: int) -> str:
    """The last ``limit`` bytes of the file, from the first whole line in them."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - limit))
        data = handle.read()
    if size > limit:
        data = data.split(b"\n", 1)[-1]
    return data.decode("utf-8", errors="replace")
