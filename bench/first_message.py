"""First-message latency: from a save's commit to the SMTP server's receipt, by dispatch mode.

One notification at a time to an idle ``celery worker --pool prefork -c 2`` (real Redis, the
SMTP counter), with a pause between them so that the worker is idle at each save. The time
runs from the moment the save's transaction commits (an on_commit callback registered
before ours: on_commit mode's publish is after it) to the server's receipt of the message
(its own clock, CLOCK_MONOTONIC like ours). Each mode gets a fresh worker with that
``NOTIFY_TASKS_DISPATCH``; modes take turns in --rounds blocks of --messages, after a
warm-up. Runs on SQLite and PostgreSQL, each in a process of its own.

    make bench BENCHMARKS=first_message
    .venv-bench/bin/python bench/first_message.py [--messages 50] [--rounds 2]
                                                  [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import open_bench  # noqa: E402

MODES = ("relay", "on_commit")
WARMUP = 5
PAUSE = (0.2, 0.4)  # seconds between saves: the worker is idle at each one


def run_database(db: str, messages: int, rounds: int) -> dict[str, Any]:
    with open_bench(db, BENCH_DISPATCH="relay") as bench:
        from django.db import transaction
        from django.test.utils import override_settings

        from tests.testapp.models import Chat

        # One recipient per message: the SMTP counter counts an address's copies apart.
        admins = iter(bench.admins(rounds * len(MODES) * (WARMUP + messages)))
        latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
        for round_number in range(rounds):
            for mode in MODES if round_number % 2 == 0 else MODES[::-1]:
                bench.worker_env["BENCH_DISPATCH"] = mode
                worker = bench.worker(f"{mode}-{round_number}")
                try:
                    with override_settings(NOTIFY_TASKS_DISPATCH=mode):
                        for number in range(WARMUP + messages):
                            latency = one_message(bench, worker, next(admins), Chat, transaction)
                            if number >= WARMUP:
                                latencies[mode].append(latency)
                finally:
                    worker.stop()
        return {"latencies": latencies}


def one_message(bench: Any, worker: Any, admin: Any, chat_model: Any, transaction: Any) -> float:
    """Seconds from one save's commit to the SMTP server's receipt of its message."""
    time.sleep(random.uniform(*PAUSE))  # noqa: S311 - spacing, not security
    count = bench.smtp.stats()[0]
    committed: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.monotonic()))
        chat_model.objects.create(title="First", admin=admin)
    received = bench.wait_for_messages(count + 1, timeout=30, worker=worker)
    return received - committed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50, help="measured saves per block")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_database(args.child, args.messages, args.rounds)))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--messages", str(args.messages), "--rounds", str(args.rounds)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]))


def report(db: str, found: dict[str, Any]) -> None:
    print(f"\nfirst-message latency on {db}, commit to SMTP receipt, idle worker -c 2:")
    for mode, seconds in found["latencies"].items():
        ms = sorted(s * 1000 for s in seconds)
        p99 = statistics.quantiles(ms, n=100)[-1]
        print(f"  {mode:<10} p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms  "
              f"min {ms[0]:.1f} max {ms[-1]:.1f} ms  ({len(ms)} messages; "
              f"targets p50 <= 100, p99 <= 500)")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
