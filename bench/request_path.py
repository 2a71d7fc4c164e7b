"""What a matching rule costs the host's save(): ours against no notification and naive .delay().

Three cases, in one process per database, against a real redis-server broker:
  none   the save alone (no rules)
  naive  the save plus some_task.delay(pk) inside the transaction (the pattern to avoid)
  ours   the save with one matching rule: outbox INSERT, then apply_async after commit

The cases take turns in blocks of --saves, --rounds times, in a rotating order, so that
drift and other load on the machine hit every case alike; each case's figure is the median
of its blocks, and the ratio's range is that of the per-round ratios. Runs on SQLite (a
file, WAL) and PostgreSQL (a throwaway cluster, tests/postgres.py), each in a process of its
own, through bench/harness.py.

    make bench BENCHMARKS=request_path
    .venv-bench/bin/python bench/request_path.py [--saves 200] [--rounds 15]
                                                 [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import open_bench  # noqa: E402

CASES = ("none", "naive .delay()", "django-notify-tasks")
RULE = {
    "chat-created": {
        "model": "testapp.Chat",
        "on": ["created"],
        "email": {"to": ["admin.email"], "subject": "New chat", "body": "."},
    }
}


def timed(saves: int, action: Callable[[], None]) -> float:
    started = time.perf_counter()
    for _ in range(saves):
        action()
    return (time.perf_counter() - started) / saves * 1e6  # microseconds per save


def run_database(db: str, saves: int, rounds: int) -> dict[str, Any]:
    """Time the three cases on ``db``; count the SELECTs one save with the rule runs."""
    with open_bench(db) as bench:
        import django
        from django.contrib.auth import get_user_model
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext, override_settings

        from bench.naive import naive_send  # never run here: only its .delay() is timed
        from tests.testapp.models import Chat

        admin = get_user_model().objects.create_user("bench", "bench@chat.example", "pw")
        bench.app.connection_for_write().ensure_connection()

        def save(naive: bool) -> None:
            with transaction.atomic():
                chat = Chat.objects.create(title="Bench", admin=admin)
                if naive:
                    naive_send.delay(chat.pk)

        cases = {
            "none": ({}, False),
            "naive .delay()": ({}, True),
            "django-notify-tasks": (RULE, False),
        }
        blocks: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for round_number in range(rounds + 1):  # the first round warms up, and is dropped
            turn = names[round_number % 3 :] + names[: round_number % 3]
            for name in turn:
                rules, naive = cases[name]
                with override_settings(NOTIFY_TASKS_RULES=rules):
                    figure = timed(saves, lambda n=naive: save(n))
                if round_number:
                    blocks[name].append(figure)
        with override_settings(NOTIFY_TASKS_RULES=RULE), CaptureQueriesContext(connection) as q:
            save(naive=False)
        selects = [x["sql"] for x in q.captured_queries if x["sql"].startswith("SELECT")]
        return {"django": django.get_version(), "blocks": blocks, "selects": len(selects)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200, help="saves per block")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_database(args.child, args.saves, args.rounds)))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--saves", str(args.saves), "--rounds", str(args.rounds)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]), args.saves, args.rounds)


def report(db: str, found: dict[str, Any], saves: int, rounds: int) -> None:
    blocks = found["blocks"]
    print(f"\nrequest path on {db} (Django {found['django']}), real Redis: "
          f"{rounds} rounds of {saves} saves per case, median of the rounds")  # fmt: skip
    for name in CASES:
        print(f"  {name:<22} {statistics.median(blocks[name]):>7.0f} us per save")
    ratios = sorted(o / n for o, n in zip(blocks[CASES[2]], blocks[CASES[1]], strict=True))
    extra = statistics.median(blocks[CASES[2]]) - statistics.median(blocks[CASES[0]])
    naive_extra = statistics.median(blocks[CASES[1]]) - statistics.median(blocks[CASES[0]])
    print(f"  added to the save: ours {extra:.0f} us, naive {naive_extra:.0f} us")
    print(f"  ours / naive: median {statistics.median(ratios):.2f}x, rounds "
          f"{ratios[0]:.2f}x to {ratios[-1]:.2f}x (target <= 1.25x)")  # fmt: skip
    print(f"  SELECTs in one save with the rule: {found['selects']} (target 0)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
