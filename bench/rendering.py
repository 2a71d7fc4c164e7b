"""What per-recipient rendering costs a fan-out: one notification to --recipients users,
processed (recipients resolved, content rendered, the rows written), with a template shared
by everyone against one that greets each recipient.

  shared         subject and body name only the instance: rendered once, one content row
  per-recipient  the same words plus "Hi {{ recipient.user.username }}": rendered once per
                 recipient, one content row each (docs/recipients.md, "Per-recipient content")

Both run in one process per database, in the worker's own code
(processing.process_notification, no broker and no sending), each round on a chat of its own
so that no content row is found from an earlier round, after one round of each that is not
counted. The cases alternate, the first one switching each round, so drift and the load of
the machine hit both alike. Each figure is the median of the rounds, with their
range; the ratio's range is that of the per-round ratios. Runs on SQLite (a file, WAL) and
PostgreSQL (a throwaway cluster) through bench/harness.py.

    .venv-bench/bin/python bench/rendering.py [--recipients 1000] [--rounds 7]
                                              [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import open_bench  # noqa: E402

BODY = (
    "{{ instance.admin.username }} opened {{ instance.title }}.\n\n"
    "Topic: {{ instance.topic|default:'none yet' }}. Reply to join the conversation."
)
TEMPLATES = {
    "shared": {"subject": "New chat: {{ instance.title }}", "body": BODY},
    "per-recipient": {
        "subject": "Hi {{ recipient.user.username }}: new chat {{ instance.title }}",
        "body": "Hi {{ recipient.user.username }},\n\n" + BODY,
    },
}


WARM_UP = 1  # rounds not counted


def run_database(db: str, recipients: int, rounds: int) -> dict[str, Any]:
    with open_bench(db) as bench:
        from django.db import connection
        from django.test import override_settings
        from django.test.utils import CaptureQueriesContext

        from django_notify_tasks import notify
        from django_notify_tasks.models import Delivery, DeliveryContent
        from django_notify_tasks.processing import process_notification
        from tests.testapp.models import Chat

        users = bench.admins(recipients + 1)
        owner, people = users[0], users[1:]

        def to(instance: Any) -> list[Any]:
            return people

        rules = {
            name: {"model": "testapp.Chat", "on": ["updated"], "email": {"to": [to], **words}}
            for name, words in TEMPLATES.items()
        }
        found: dict[str, dict[str, list[float]]] = {
            name: {"seconds": [], "queries": [], "rows": [], "contents": []} for name in rules
        }
        with override_settings(NOTIFY_TASKS_RULES=rules, NOTIFY_TASKS_DISPATCH="relay"):
            for round_ in range(-WARM_UP, rounds):  # the first rounds compile and connect
                order = list(rules) if round_ % 2 == 0 else list(reversed(rules))
                for name in order:
                    chat = Chat.objects.create(title=f"{name} {round_}", admin=owner)
                    [notification_id] = notify(name, chat)
                    contents_before = DeliveryContent.objects.count()
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        process_notification(notification_id, "default")
                        seconds = time.perf_counter() - started
                    rows = Delivery.objects.filter(notification_id=notification_id)
                    assert rows.filter(status=Delivery.Status.PENDING).count() == recipients
                    if round_ < 0:
                        continue
                    figures = found[name]
                    figures["seconds"].append(seconds)
                    figures["queries"].append(len(queries))
                    figures["rows"].append(rows.count())
                    figures["contents"].append(DeliveryContent.objects.count() - contents_before)
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_database(args.child, args.recipients, args.rounds)))
        return
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--recipients", str(args.recipients), "--rounds", str(args.rounds)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.strip().splitlines()[-1]), args.recipients)


def report(db: str, found: dict[str, Any], recipients: int) -> None:
    rounds = len(found["shared"]["seconds"])
    print(f"\n{db}: one notification to {recipients} users, processed; {rounds} rounds")
    widths = {"median ms": 10, "range ms": 17, "queries": 8, "rows": 6, "contents": 9}
    print(f"{'case':<15} " + " ".join(f"{c:>{w}}" for c, w in widths.items()))
    for name, figures in found.items():
        low, high = spread(figures["seconds"])
        print(
            f"{name:<15} {statistics.median(figures['seconds']) * 1000:>10.1f} "
            f"{low * 1000:>8.1f}-{high * 1000:<8.1f} "
            f"{statistics.median(figures['queries']):>8.0f} "
            f"{statistics.median(figures['rows']):>6.0f} "
            f"{statistics.median(figures['contents']):>9.0f}"
        )
    pairs = zip(found["shared"]["seconds"], found["per-recipient"]["seconds"], strict=True)
    ratios = [b / a for a, b in pairs]
    low, high = spread(ratios)
    median = statistics.median(ratios)
    print(f"per-recipient / shared: {median:.2f}x ({low:.2f}-{high:.2f}x), per-round ratios")
    extra = statistics.median(found["per-recipient"]["seconds"]) - statistics.median(
        found["shared"]["seconds"]
    )
    print(f"per-recipient rendering adds {extra / recipients * 1e6:.0f} us per recipient")


def spread(figures: list[float]) -> tuple[float, float]:
    return min(figures), max(figures)


if __name__ == "__main__":
    main()
