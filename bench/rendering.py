"""Email content for 1,000 recipients: templates shared by all against templates that name
``recipient`` (rendered once per recipient).

For each database (SQLite file; PostgreSQL: a throwaway cluster), in a process of its own:
--rounds rounds, each processing one notification of the shared rule and one of the
per-recipient rule, alternating which goes first, to --recipients users (one language).
Processing (``process_notification``: resolve the users, render, write the delivery rows
and their content) is timed with its statements counted; nothing is sent. Printed: the
median time per recipient with the range, and the distinct content rows the deliveries of
one notification point at.

    .venv-bench/bin/python bench/rendering.py [--recipients 1000] [--rounds 9]
        [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import database, setup  # noqa: E402
from bench.inbox import readers_and_admin, timed_ms  # noqa: E402

SUBJECT = "{{ instance.title }} was created"
BODY = "A new chat, {{ instance.title }}, was created by {{ instance.admin }}.\n"
TEMPLATES = {
    "shared": (SUBJECT, BODY),
    "per recipient": (
        "Hi {{ recipient.user.username }}: " + SUBJECT,
        "Hi {{ recipient.address }},\n" + BODY,
    ),
}


def measure(recipients: int, rounds: int) -> dict[str, Any]:
    from django.test import override_settings

    from django_notify_tasks.models import Delivery
    from django_notify_tasks.processing import process_notification
    from django_notify_tasks.testing import capture_dispatch
    from tests.testapp.models import Chat

    readers, admin = readers_and_admin(recipients)

    def rules(subject: str, body: str) -> dict[str, Any]:
        email = {"to": [lambda chat: readers], "subject": subject, "body": body}
        return {"chat-created": {"model": "testapp.Chat", "on": ["created"], "email": email}}

    found: dict[str, Any] = {
        kind: {"ms": [], "statements": [], "contents": []} for kind in TEMPLATES
    }
    kinds = list(TEMPLATES)
    for n in range(rounds + 1):  # the first round warms up
        for kind in kinds if n % 2 else reversed(kinds):
            with override_settings(NOTIFY_TASKS_RULES=rules(*TEMPLATES[kind])):
                with capture_dispatch() as queued:
                    Chat.objects.create(title=f"Chat {n} {kind}", admin=admin)
                pk = queued[0]
                ms, statements, _ = timed_ms(lambda pk=pk: process_notification(pk, "default"))
            rows = Delivery.objects.filter(notification_id=pk)
            assert rows.filter(status="pending").count() == recipients
            if n:
                found[kind]["ms"].append(ms)
                found[kind]["statements"].append(statements)
                found[kind]["contents"].append(rows.values("content_id").distinct().count())
    return found


def child(db: str, recipients: int, rounds: int) -> dict[str, Any]:
    with database(db) as data_dir:
        setup(db, data_dir)
        return measure(recipients, rounds)


def report(db: str, found: dict[str, Any], recipients: int) -> None:
    rounds = len(found["shared"]["ms"])
    print(f"\nemail content on {db}: one notification to {recipients:,} users, processed "
          f"(no sending), {rounds} interleaved rounds after one to warm up")  # fmt: skip
    for kind, figures in found.items():
        per = [ms / recipients for ms in figures["ms"]]
        total = statistics.median(figures["ms"])
        print(f"  {kind:>13}: {statistics.median(per):.3f} ms per recipient "
              f"(range {min(per):.3f} to {max(per):.3f}; median {total:.0f} ms in all), "
              f"{sorted(set(figures['contents']))} distinct content rows, "
              f"statements {sorted(set(figures['statements']))}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with contextlib.redirect_stdout(io.StringIO()):
            found = child(args.child, args.recipients, args.rounds)
        print(json.dumps(found))
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for db in args.db:
        command = [sys.executable, __file__, "--child", db]
        command += ["--recipients", str(args.recipients), "--rounds", str(args.rounds)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]), args.recipients)
        sys.stdout.flush()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
