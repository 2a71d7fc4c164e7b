"""What a matching rule costs the host's save(): ours against no notification and naive .delay().

Three cases, in one process per database, against a real redis-server broker:
  none   the save alone (no rules)
  naive  the save plus some_task.delay(pk) inside the transaction (the pattern to avoid)
  ours   the save with one matching rule: outbox INSERT, then apply_async after commit
With --parts, two more split ours in two: ours with the publish stubbed out (the outbox
write alone), and the naive .delay() sent on commit (a publish outside the transaction).

The cases take turns in blocks of --saves, --rounds times, in a rotating order, so that
drift and other load on the machine hit every case alike; each case's figure is the median
of its blocks, and the ratio's range is that of the per-round ratios. It also lists what one
save with the rule sends, as Django logs it (on PostgreSQL, one round trip an entry). Runs on
SQLite (a file, WAL) and PostgreSQL (a throwaway cluster, tests/support/postgres.py), each in a
process of its own, through bench/harness.py.

    make bench BENCHMARKS=request_path
    .venv-bench/bin/python bench/request_path.py [--saves 200] [--rounds 15]
                                                 [--db sqlite postgresql] [--parts]
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
# --parts: where ours' time goes. The publish stubbed out leaves the outbox write; the naive
# task sent on commit instead of inside the transaction is a publish like ours.
PARTS = ("naive .delay() on commit", "ours, publish stubbed")
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


def run_database(db: str, saves: int, rounds: int, parts: bool) -> dict[str, Any]:
    """Time the cases on ``db``; list what one save with the rule sends."""
    with open_bench(db) as bench:
        import django
        from django.contrib.auth import get_user_model
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext, override_settings

        import django_notify_tasks
        from bench.naive import naive_send  # never run here: only its .delay() is timed
        from django_notify_tasks import dispatch
        from tests.testapp.models import Chat

        admin = get_user_model().objects.create_user("bench", "bench@chat.example", "pw")
        bench.app.connection_for_write().ensure_connection()
        publish = dispatch.enqueue_notifications

        def save(naive: str) -> None:
            with transaction.atomic():
                chat = Chat.objects.create(title="Bench", admin=admin)
                if naive == "delay":
                    naive_send.delay(chat.pk)
                elif naive == "on commit":
                    transaction.on_commit(lambda: naive_send.delay(chat.pk))

        cases = {
            "none": ({}, "", publish),
            "naive .delay()": ({}, "delay", publish),
            "django-notify-tasks": (RULE, "", publish),
        }
        if parts:
            cases[PARTS[0]] = ({}, "on commit", publish)
            cases[PARTS[1]] = (RULE, "", lambda ids, using="default": None)
        blocks: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for round_number in range(rounds + 1):  # the first round warms up, and is dropped
            turn = names[round_number % len(names) :] + names[: round_number % len(names)]
            for name in turn:
                rules, naive, dispatch.enqueue_notifications = cases[name]
                with override_settings(NOTIFY_TASKS_RULES=rules):
                    figure = timed(saves, lambda n=naive: save(n))
                if round_number:
                    blocks[name].append(figure)
        dispatch.enqueue_notifications = publish
        with override_settings(NOTIFY_TASKS_RULES=RULE), CaptureQueriesContext(connection) as q:
            save("")
        sent = [x["sql"] for x in q.captured_queries]
        return {
            "django": django.get_version(),
            "package": str(Path(django_notify_tasks.__file__).parent),
            "blocks": blocks,
            "selects": sum(sql.startswith("SELECT") for sql in sent),
            "statements": [statement_name(sql) for sql in sent],
        }


def statement_name(sql: str) -> str:
    """What one round trip sent, by verb: ``INSERT testapp_chat``, ``SAVEPOINT; INSERT ...``."""
    return "; ".join(verb(statement) for statement in sql.split("; "))


def verb(statement: str) -> str:
    first, *rest = statement.split()
    return f"{first} {rest[1]}".replace('"', "") if first == "INSERT" else first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200, help="saves per block")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--parts", action="store_true", help="also time the parts of ours")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_database(args.child, args.saves, args.rounds, args.parts)))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--saves", str(args.saves), "--rounds", str(args.rounds)]
        command += ["--parts"] if args.parts else []
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]), args.saves, args.rounds)


def report(db: str, found: dict[str, Any], saves: int, rounds: int) -> None:
    blocks = found["blocks"]
    print(f"\nrequest path on {db} (Django {found['django']}), real Redis: "
          f"{rounds} rounds of {saves} saves per case, median of the rounds")  # fmt: skip
    for name in blocks:
        print(f"  {name:<26} {statistics.median(blocks[name]):>7.0f} us per save")
    ratios = sorted(o / n for o, n in zip(blocks[CASES[2]], blocks[CASES[1]], strict=True))
    extra = statistics.median(blocks[CASES[2]]) - statistics.median(blocks[CASES[0]])
    naive_extra = statistics.median(blocks[CASES[1]]) - statistics.median(blocks[CASES[0]])
    print(f"  added to the save: ours {extra:.0f} us, naive {naive_extra:.0f} us")
    print(f"  ours / naive: median {statistics.median(ratios):.2f}x, rounds "
          f"{ratios[0]:.2f}x to {ratios[-1]:.2f}x (target <= 1.25x)")  # fmt: skip
    if PARTS[1] in blocks:
        median = {name: statistics.median(figures) for name, figures in blocks.items()}
        write = median[PARTS[1]] - median[CASES[0]]
        publish = median[CASES[2]] - median[PARTS[1]]
        naive_on_commit = median[PARTS[0]] - median[CASES[0]]
        print(f"  ours' outbox write {write:.0f} us and publish {publish:.0f} us; "
              f"naive's .delay() on commit {naive_on_commit:.0f} us")  # fmt: skip
    print(f"  SELECTs in one save with the rule: {found['selects']} (target 0)")
    statements = found["statements"]
    print(f"  sent by one save with the rule: {len(statements)}: {', '.join(statements)}")
    print(f"  (django_notify_tasks from {found['package']})")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
