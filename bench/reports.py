"""Report cost against data size: queries, time and peak memory of the two report tasks.

Builds one SQLite file per size (users, plus notifications with an email and a realtime
delivery each, spread over the last 48 hours), then runs user_count_report and
activity_digest (last 24 h, emailed to one admin through the locmem backend) in a fresh
process per size and report, and prints per run: queries, wall time (warm), the peak of
Python allocations (tracemalloc) and the process's peak RSS. Targets: the same number of queries
at every size, at most 5; peak memory growing by less than 25 MB from the smallest size to
the largest.

    .venv/bin/python bench/reports.py [--users 10000 1000000] [--deliveries 1000 100000]
                                      [--data-dir DIR] [--rebuild]

Databases are kept in --data-dir (default: the temp dir) and reused for three hours while
their size matches; --rebuild builds them again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ("user_count_report", "activity_digest")
RULES = ["member-joined", "member-left", "chat-renamed", "message-flagged", "invite-sent"]
ERRORS = [
    "SMTPRecipientsRefused: {'x@example.com': (550, b'5.1.1 no such user')}",
    "SMTPDataError: (554, b'5.7.1 rejected by policy')",
    "gave up after 9 attempts: TimeoutError: timed out",
    "Centrifugo error 102: unknown channel",
]
BATCH = 50_000
REUSE_FOR = 3 * 3600  # seconds a built database is reused
MB = 1024 * 1024


def setup_django(data_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["NOTIFY_TASKS_TEST_DB_DIR"] = str(data_dir)
    import django

    django.setup()


# Building -------------------------------------------------------------------------------------


def build(data_dir: Path, users: int, deliveries: int) -> None:
    """Migrate a new database and fill it with raw executemany in large batches."""
    setup_django(data_dir)
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous = OFF")
    rng = random.Random(4)
    with transaction.atomic():
        insert_users(users, rng)
        insert_notifications(deliveries // 2, rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def insert_rows(table: str, columns: list[str], rows: Any) -> None:
    from django.db import connection

    sql = (
        f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join(["%s"] * len(columns))})'
    )
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


def insert_users(count: int, rng: random.Random) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    now, to_db = timezone.now(), connection.ops.adapt_datetimefield_value
    columns = ["password", "is_superuser", "username", "first_name", "last_name", "email"]
    columns += ["is_staff", "is_active", "date_joined"]
    rows = (
        (
            "!",
            False,
            f"user{n}",
            "",
            "",
            f"user{n}@example.com",
            n % 1000 == 0,
            n % 50 != 0,
            to_db(now - timedelta(minutes=rng.randrange(60 * 24 * 60))),  # 60 days
        )
        for n in range(count)
    )
    insert_rows(get_user_model()._meta.db_table, columns, rows)


def insert_notifications(count: int, rng: random.Random) -> None:
    """``count`` notifications over the last 48 h, each with an email and a realtime delivery."""
    from django.db import connection
    from django.utils import timezone

    from django_notify_tasks.models import Delivery, Notification

    now, to_db = timezone.now(), connection.ops.adapt_datetimefield_value
    created = [now - timedelta(seconds=rng.randrange(48 * 3600)) for _ in range(count)]
    columns = ["id", "rule", "event", "model", "object_pk", "related_model", "related_pk"]
    columns += ["snapshot", "status", "error", "dispatch_count", "created_at", "processed_at"]
    columns += ["claim_token", "attempts"]
    insert_rows(
        Notification._meta.db_table,
        columns,
        (
            (n + 1, RULES[n % 5], "created", "chat.membership", str(n), "", "", "{}")
            + ("processed", "", 0, to_db(at), to_db(at), "", 1)
            for n, at in enumerate(created)
        ),
    )
    columns = ["notification_id", "channel", "target", "status", "options"]
    columns += ["message_id", "attempts", "error", "created_at", "updated_at", "claim_token"]
    columns += ["sent_at"]

    def rows() -> Any:
        for n, at in enumerate(created):
            for channel, target in (("email", f"user{n}@example.com"), ("realtime", f"chats:{n}")):
                roll = rng.random()
                status = "sent" if roll < 0.9 else "failed" if roll < 0.97 else "pending"
                sent_at = (
                    at + timedelta(seconds=rng.expovariate(1 / 2)) if status == "sent" else None
                )
                error = rng.choice(ERRORS) if status == "failed" else ""
                yield (
                    (n + 1, channel, target, status, "{}", "", 1, error)
                    + (to_db(at), to_db(sent_at or at), "", to_db(sent_at) if sent_at else None)
                )

    insert_rows(Delivery._meta.db_table, columns, rows())


# Measuring ------------------------------------------------------------------------------------


def measure(data_dir: Path, report: str) -> dict[str, Any]:
    """Run ``report`` three times: to warm up (templates, page cache), to count queries and
    time it, and under tracemalloc for the peak of Python allocations."""
    setup_django(data_dir)
    import resource
    import tracemalloc

    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from django_notify_tasks import reports

    run = {
        "user_count_report": reports.user_count_report,
        "activity_digest": reports.activity_digest,
    }
    with (
        tempfile.TemporaryDirectory() as out,
        override_settings(NOTIFY_TASKS_REPORT_DIR=out, ADMINS=["ops@example.com"]),
    ):
        run[report]()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = run[report]()
            seconds = time.perf_counter() - started
        tracemalloc.start()
        run[report]()
        python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "queries": len(queries),
        "seconds": seconds,
        "python_peak_mb": python_peak / MB,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "summary": summary(report, result),
    }


def summary(report: str, result: Any) -> str:
    if report == "user_count_report":
        return f"{result['total_users']} users, {result['joined_24h']} joined in 24 h"
    totals = result["totals"]
    return (
        f"{totals['sent']} sent, {totals['failed']} failed, {totals['pending']} pending; "
        f"{len(result['rules'])} groups, {result['new_users']} new users"
    )


# Driving --------------------------------------------------------------------------------------


def child(*args: str) -> str:
    command = [sys.executable, __file__, *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def ensure_built(data_dir: Path, users: int, deliveries: int, rebuild: bool) -> float | None:
    """Build the database unless a recent one of this size is there; the build time, or None.

    The data is placed relative to the build time, so a database older than a few hours no
    longer has the same last 24 hours: it is built again.
    """
    marker = data_dir / "built.json"
    wanted = {"users": users, "deliveries": deliveries}
    if (
        not rebuild
        and marker.exists()
        and json.loads(marker.read_text()) == wanted
        and time.time() - marker.stat().st_mtime < REUSE_FOR
    ):
        return None
    if data_dir.exists():
        for path in data_dir.iterdir():
            path.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    child("--build", str(data_dir), str(users), str(deliveries))
    marker.write_text(json.dumps(wanted))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--deliveries", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "notify-tasks-bench"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build[0]), int(args.build[1]), int(args.build[2]))
        return
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    if len(args.users) != len(args.deliveries):
        parser.error("give as many --deliveries as --users")

    print("report              users   deliveries  queries   time   python peak   RSS peak")
    figures: dict[str, list[dict[str, Any]]] = {report: [] for report in REPORTS}
    for users, deliveries in zip(args.users, args.deliveries, strict=True):
        data_dir = args.data_dir / f"users-{users}-deliveries-{deliveries}"
        took = ensure_built(data_dir, users, deliveries, args.rebuild)
        if took is not None:
            print(f"  (built {users:,} users and {deliveries:,} deliveries in {took:.1f} s)")
        for report in REPORTS:
            found = json.loads(child("--measure", str(data_dir), report))
            figures[report].append(found)
            print(
                f"{report:<18} {users:>9,} {deliveries:>10,} {found['queries']:>8} "
                f"{found['seconds'] * 1000:>6.0f} ms {found['python_peak_mb']:>8.2f} MB "
                f"{found['rss_peak_mb']:>7.1f} MB   {found['summary']}"
            )
    print()
    for report, runs in figures.items():
        queries = sorted({run["queries"] for run in runs})
        python = runs[-1]["python_peak_mb"] - runs[0]["python_peak_mb"]
        rss = runs[-1]["rss_peak_mb"] - runs[0]["rss_peak_mb"]
        verdict = (
            "met" if len(queries) == 1 and queries[0] <= 5 and max(python, rss) < 25 else "MISSED"
        )
        print(
            f"{report}: queries {queries} (target one value, at most 5); peak growth "
            f"python {python:+.2f} MB, RSS {rss:+.1f} MB (target < 25 MB): {verdict}"
        )


if __name__ == "__main__":
    main()
