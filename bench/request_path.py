"""What a matching rule costs the host's save(): ours against no notification and naive .delay().

Four cases, in one process per database, against a real redis-server broker:
  none          the save alone (no rules)
  naive         the save plus some_task.delay(pk) inside the transaction (the pattern to avoid)
  ours relay    the save with one matching rule, NOTIFY_TASKS_DISPATCH="relay" (the default):
                the outbox INSERT (with a NOTIFY on PostgreSQL) and no publish
  ours on_commit  the same with "on_commit": the INSERT, then apply_async after commit
With --autocommit the saves run without transaction.atomic() around them, as a view does
with Django's defaults (the outbox row is then a commit of its own).
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

CASES = ("none", "naive .delay()", "ours relay", "ours on_commit")
MODES = {"ours relay": "relay", "ours on_commit": "on_commit"}
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


def run_database(
    db: str, saves: int, rounds: int, parts: bool, autocommit: bool = False
) -> dict[str, Any]:
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

        import contextlib

        def save(naive: str) -> None:
            with contextlib.nullcontext() if autocommit else transaction.atomic():
                chat = Chat.objects.create(title="Bench", admin=admin)
                if naive == "delay":
                    naive_send.delay(chat.pk)
                elif naive == "on commit":
                    transaction.on_commit(lambda: naive_send.delay(chat.pk))

        cases = {
            "none": ({}, "", publish),
            "naive .delay()": ({}, "delay", publish),
            "ours relay": (RULE, "", publish),
            "ours on_commit": (RULE, "", publish),
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
                mode = MODES.get(name, "on_commit")
                with override_settings(NOTIFY_TASKS_RULES=rules, NOTIFY_TASKS_DISPATCH=mode):
                    figure = timed(saves, lambda n=naive: save(n))
                if round_number:
                    blocks[name].append(figure)
        dispatch.enqueue_notifications = publish
        sent = {}
        for name, mode in MODES.items():
            with (
                override_settings(NOTIFY_TASKS_RULES=RULE, NOTIFY_TASKS_DISPATCH=mode),
                CaptureQueriesContext(connection) as q,
            ):
                save("")
            sent[name] = [x["sql"] for x in q.captured_queries]
        selects = {name: sum(q.startswith("SELECT") for q in sql) for name, sql in sent.items()}
        return {
            "django": django.get_version(),
            "package": str(Path(django_notify_tasks.__file__).parent),
            "blocks": blocks,
            "selects": selects,
            "statements": {name: [statement_name(q) for q in sql] for name, sql in sent.items()},
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
    parser.add_argument("--autocommit", action="store_true", help="saves outside atomic()")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        found = run_database(args.child, args.saves, args.rounds, args.parts, args.autocommit)
        print(json.dumps(found))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--saves", str(args.saves), "--rounds", str(args.rounds)]
        command += ["--parts"] if args.parts else []
        command += ["--autocommit"] if args.autocommit else []
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        found = json.loads(done.stdout.splitlines()[-1])
        report(db + (", autocommit" if args.autocommit else ""), found, args.saves, args.rounds)


def report(db: str, found: dict[str, Any], saves: int, rounds: int) -> None:
    blocks = found["blocks"]
    print(f"\nrequest path on {db} (Django {found['django']}), real Redis: "
          f"{rounds} rounds of {saves} saves per case, median of the rounds")  # fmt: skip
    for name in blocks:
        print(f"  {name:<26} {statistics.median(blocks[name]):>7.0f} us per save")
    for name in MODES:
        ratios = sorted(o / n for o, n in zip(blocks[name], blocks[CASES[1]], strict=True))
        low, high = spread(blocks[name])
        extra = statistics.median(blocks[name]) - statistics.median(blocks[CASES[0]])
        print(f"  {name} / naive: median {statistics.median(ratios):.2f}x, rounds "
              f"{ratios[0]:.2f}x to {ratios[-1]:.2f}x (target <= 1.0x); adds {extra:.0f} us "
              f"to the save; its blocks {low:.0f} to {high:.0f} us")  # fmt: skip
    low, high = spread(blocks[CASES[1]])
    naive_extra = statistics.median(blocks[CASES[1]]) - statistics.median(blocks[CASES[0]])
    print(f"  naive adds {naive_extra:.0f} us; its blocks {low:.0f} to {high:.0f} us")
    if PARTS[1] in blocks:
        median = {name: statistics.median(figures) for name, figures in blocks.items()}
        write = median[PARTS[1]] - median[CASES[0]]
        publish = median[CASES[3]] - median[PARTS[1]]
        naive_on_commit = median[PARTS[0]] - median[CASES[0]]
        print(f"  ours' outbox write {write:.0f} us and publish {publish:.0f} us; "
              f"naive's .delay() on commit {naive_on_commit:.0f} us")  # fmt: skip
    for name in MODES:
        statements = found["statements"][name]
        print(f"  {name}: {found['selects'][name]} SELECTs (target 0); one save sends "
              f"{len(statements)}: {', '.join(statements)}")  # fmt: skip
    print(f"  (django_notify_tasks from {found['package']})")


def spread(figures: list[float]) -> tuple[float, float]:
    """The 10th and 90th percentiles of a case's blocks."""
    deciles = statistics.quantiles(figures, n=10, method="inclusive")
    return deciles[0], deciles[-1]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
