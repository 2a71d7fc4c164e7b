"""The dashboard page at 1,000,000 deliveries: the median time of several loads per period.

Fills a database in bulk (SQLite: a file, executemany in large batches; PostgreSQL: a
throwaway cluster from tests/support/postgres.py, COPY), with notifications of five rules
spread over the last 30 days, two deliveries each (email and realtime), most sent after a
delay of a few seconds, some failed with errors that differ in their details, a few
pending or retrying. Then it rolls the log up as the beat entry does (roll_up_deliveries:
the first run, 30 days, as of an hour ago; again, nothing due; as of now, one new hour)
and times each. Then it loads the page as a staff user through Django's test client, once
to warm up and --loads times per period, alternating two ways of reading: "log", every
figure from the delivery log (the page without any rollup), and "rollup", the page as it
ships; it prints the median and the range of each, the time of each query in the median
load, and checks that both give the same totals. Each database runs in a process of its
own.

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--loads 7] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RULES = ["member-joined", "member-left", "chat-renamed", "message-flagged", "invite-sent"]
ERRORS = [
    "CentNetworkError: Network error: HTTPConnectionPool(host='centrifugo', port={n}): Max "
    "retries exceeded with url: /api/broadcast (Caused by NewConnectionError(...))",
    "SMTPRecipientsRefused: {{'user{n}@example.com': (550, b'5.1.1 no such user')}}",
    "SMTPDataError: (554, b'5.7.1 rejected by policy {n}')",
    "gave up after 9 attempts: TimeoutError: timed out",
]
PERIODS = ("24h", "7d", "30d")
WAYS = ("log", "rollup")
DAYS = 30
BATCH = 50_000


def setup(db: str, data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["NOTIFY_TASKS_TEST_DB"] = db
    os.environ["NOTIFY_TASKS_TEST_DB_DIR"] = str(data_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(rows: int, now: datetime) -> Iterator[tuple[list[Any], list[list[Any]]]]:
    """(notification, its deliveries) with plain values; two deliveries a notification."""
    rng = random.Random(21)
    for n in range(1, rows // 2 + 1):
        at = now - timedelta(seconds=rng.randrange(DAYS * 86400))
        rule = RULES[rng.randrange(len(RULES))]
        notification = [n, rule, "created", "chat.membership", str(n), "{}", "processed", at]
        deliveries = []
        for channel, target in (("email", f"user{n}@example.com"), ("realtime", f"chats:{n}")):
            roll = rng.random()
            status = (
                "sent" if roll < 0.9 else "failed" if roll < 0.95 else "skipped" if roll < 0.98
                else "retrying" if roll < 0.99 else "pending" if roll < 0.995 else "cancelled"
            )  # fmt: skip
            delay = rng.lognormvariate(0.5, 1.0)
            sent_at = at + timedelta(seconds=delay) if status == "sent" else None
            error = ""
            if status in ("failed", "retrying"):
                error = rng.choice(ERRORS).format(n=rng.randrange(1000))
            deliveries.append([n, channel, target, status, error, at, sent_at or at, sent_at])
        yield notification, deliveries


NOTIFICATION_COLUMNS = ["id", "rule", "event", "model", "object_pk", "snapshot", "status"]
NOTIFICATION_COLUMNS += ["created_at"]
NOTIFICATION_DEFAULTS = {"related_model": "", "related_pk": "", "error": "", "dispatch_count": 0}
NOTIFICATION_DEFAULTS |= {"claim_token": "", "attempts": 0}
DELIVERY_COLUMNS = ["notification_id", "channel", "target", "status", "error", "created_at"]
DELIVERY_COLUMNS += ["updated_at", "sent_at"]
DELIVERY_DEFAULTS = {"options": "{}", "message_id": ""}  # no content: content_id stays NULL
DELIVERY_DEFAULTS |= {"attempts": 1, "claim_token": ""}


def fill(db: str, rows: int) -> float:
    """Insert the rows; the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from django_notify_tasks.models import Delivery, Notification

    started = time.perf_counter()
    tables = (Notification._meta.db_table, Delivery._meta.db_table)
    columns = (
        NOTIFICATION_COLUMNS + list(NOTIFICATION_DEFAULTS),
        DELIVERY_COLUMNS + list(DELIVERY_DEFAULTS),
    )
    extras = (list(NOTIFICATION_DEFAULTS.values()), list(DELIVERY_DEFAULTS.values()))
    batches: tuple[list[list[Any]], list[list[Any]]] = ([], [])
    write = copy_rows if db == "postgresql" else insert_rows
    with transaction.atomic():
        for notification, deliveries in generate(rows, timezone.now()):
            batches[0].append(notification + extras[0])
            batches[1].extend(delivery + extras[1] for delivery in deliveries)
            if len(batches[1]) >= BATCH:
                for table, names, batch in zip(tables, columns, batches, strict=True):
                    write(table, names, batch)
                    batch.clear()
        for table, names, batch in zip(tables, columns, batches, strict=True):
            write(table, names, batch)
    with connection.cursor() as cursor:
        if db == "postgresql":
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{tables[0]}', 'id'), %s)",
                           [rows // 2])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if db == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def insert_rows(table: str, columns: list[str], rows: list[list[Any]]) -> None:
    from django.db import connection

    to_db = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(columns))
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})'
    values = [[to_db(v) if isinstance(v, datetime) else v for v in row] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def copy_rows(table: str, columns: list[str], rows: list[list[Any]]) -> None:
    from django.db import connection

    sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def roll_up_timed() -> dict[str, float]:
    """The rollup as beat runs it: the first run, a run with nothing due, an hour later."""
    from django.utils import timezone

    from django_notify_tasks.dashboard.rollup import roll_up

    found = {}
    for name, offset in (("first", -1), ("again", -1), ("an hour later", 0)):
        started = time.perf_counter()
        hours = roll_up(timezone.now() + timedelta(hours=offset))
        found[f"{name} ({hours} hours)"] = time.perf_counter() - started
    return found


@contextlib.contextmanager
def reading(way: str) -> Iterator[None]:
    """Reading "log": every hour from the log, as the page did before the rollup."""
    from django_notify_tasks.dashboard import rolled

    if way == "rollup":
        yield
        return
    split = rolled.split
    rolled.split = lambda period: rolled.Split(period, period.start)  # type: ignore[assignment]
    try:
        yield
    finally:
        rolled.split = split


def load(client: Any, period: str, way: str) -> tuple[float, list[tuple[str, float]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with reading(way), CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        page = client.get("/notifications/dashboard/", {"period": period})
        ms = (time.perf_counter() - started) * 1000
    assert page.status_code == 200
    return ms, [(q["sql"][:60], float(q["time"]) * 1000) for q in captured]


def totals(period: str, way: str) -> dict[str, int]:
    from django_notify_tasks.dashboard import queries, rolled
    from django_notify_tasks.dashboard.page import status_totals
    from django_notify_tasks.dashboard.periods import dashboard_period

    with reading(way):
        where = rolled.split(dashboard_period(period))
        counts = rolled.counts(where, queries.bucket_counts(where.live_rows(), where.period.unit))
    return status_totals(counts)


def measure(db: str, rows: int, loads: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    filled = fill(db, rows)
    rollup = roll_up_timed()
    staff = get_user_model().objects.create_user("bench", is_staff=True)
    client = Client()
    client.force_login(staff)
    found: dict[str, Any] = {"rows": rows, "fill_seconds": filled, "rollup": rollup}
    found["periods"] = {}
    for period in PERIODS:
        figures: dict[str, Any] = {}
        for way in WAYS:
            load(client, period, way)  # warm-up
            figures[way] = {"ms": [], "queries": []}
        for _ in range(loads):
            for way in WAYS:  # alternating, so that the machine's load falls on both
                ms, queries = load(client, period, way)
                figures[way]["ms"].append(ms)
                figures[way]["queries"].append(queries)
        for way in WAYS:
            times = figures[way]["ms"]
            median_load = sorted(range(loads), key=times.__getitem__)[loads // 2]
            figures[way]["queries"] = figures[way]["queries"][median_load]
        figures["totals"] = totals(period, "rollup")
        assert figures["totals"] == totals(period, "log"), period
        found["periods"][period] = figures
    return found


@contextlib.contextmanager
def database(db: str) -> Iterator[Path]:
    data_dir = Path(tempfile.mkdtemp(prefix="notify-tasks-bench-dashboard-"))
    try:
        if db == "postgresql":
            from bench.harness import postgres_cluster

            with postgres_cluster():
                yield data_dir
        else:
            yield data_dir
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def child(db: str, rows: int, loads: int) -> dict[str, Any]:
    with database(db) as data_dir:
        setup(db, data_dir)
        return measure(db, rows, loads)


def report(db: str, found: dict[str, Any], loads: int) -> None:
    print(f"\ndashboard on {db}: {found['rows']:,} deliveries over {DAYS} days "
          f"(filled in {found['fill_seconds']:.0f} s); {loads} loads per period and way "
          "after one to warm up, alternating")  # fmt: skip
    for run, seconds in found["rollup"].items():
        print(f"  roll_up_deliveries, {run}: {seconds:.2f} s")
    for period, figures in found["periods"].items():
        print(f"  {period:>4}: {figures['totals']['all']:,} deliveries in the period, "
              "the same totals both ways")  # fmt: skip
        for way in WAYS:
            times = figures[way]["ms"]
            print(f"    {way:>6}: median {statistics.median(times):6.0f} ms "
                  f"(range {min(times):.0f} to {max(times):.0f})")  # fmt: skip
            for sql, ms in figures[way]["queries"]:
                if ms >= 1:
                    print(f"            {ms:6.0f} ms  {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="deliveries")
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with contextlib.redirect_stdout(io.StringIO()):
            found = child(args.child, args.rows, args.loads)
        print(json.dumps(found, default=str))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--rows", str(args.rows), "--loads", str(args.loads)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]), args.loads)
        sys.stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
