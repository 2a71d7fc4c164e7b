"""The in-app inbox: ``GET inbox`` for a user with 10,000 items, and the ``inapp`` channel's
cost per 1,000 recipients.

For each database (SQLite file; PostgreSQL: a throwaway cluster from tests/support/postgres.py),
in a process of its own: one user gets --items inbox items (a third of them unread), then
rounds of loads through Django's test client, logged in, the kinds interleaved in each round:
the first page, the first page of unread items (``?unread=1``), a page from a cursor in the
middle of the inbox, and the unread count alone (``unread_count``, no request). Then
--rounds notifications of a rule whose ``inapp`` section names --recipients users, each
processed and its deliveries sent in this process (``django_notify_tasks.testing.deliver``:
build the rows, store the items), timed, with the statements counted.

    .venv-bench/bin/python bench/inbox.py [--items 10000] [--loads 51] [--recipients 1000]
        [--rounds 7] [--db sqlite postgresql]
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import database, setup  # noqa: E402

INBOX = "/notifications/inbox/"


def fill_inbox(items: int) -> Any:
    """A user with ``items`` inbox items, every third unread; the user."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from django_notify_tasks.models import InboxItem

    owner = get_user_model().objects.create_user("owner", "owner@bench.example")
    other = get_user_model().objects.create_user("other", "other@bench.example")
    now = timezone.now()
    for user, count in ((owner, items), (other, items)):  # another user's rows in the index
        InboxItem.objects.bulk_create(
            (
                InboxItem(
                    user=user,
                    rule="bench",
                    title=f"Item {n}",
                    body="A chat was created.",
                    url=f"/chats/{n}/",
                    read_at=None if n % 3 == 0 else now,
                )  # fmt: skip
                for n in range(count)
            ),
            batch_size=2000,
        )
    return owner


def timed_ms(action: Callable[[], Any]) -> tuple[float, int, Any]:
    """(milliseconds, statements, result) of ``action()``."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # a full log (9,000 statements) would count none
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = action()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(captured), result


def measure_inbox(items: int, loads: int) -> dict[str, Any]:
    from django.test import Client

    from django_notify_tasks.inbox.queries import unread_count
    from django_notify_tasks.models import InboxItem

    owner = fill_inbox(items)
    client = Client()
    client.force_login(owner)
    ids = list(InboxItem.objects.filter(user=owner).values_list("pk", flat=True))
    middle = sorted(ids)[len(ids) // 2]

    def get(query: dict[str, str]) -> Callable[[], Any]:
        def load() -> Any:
            response = client.get(INBOX, query)
            assert response.status_code == 200, response.content
            return response.json()

        return load

    kinds = {
        "first page": get({}),
        "unread=1": get({"unread": "1"}),
        "cursor, middle": get({"cursor": str(middle)}),
        "unread count": lambda: unread_count(owner),
    }
    expected_unread = (items + 2) // 3
    for action in kinds.values():  # warm up
        action()
    found: dict[str, Any] = {name: {"ms": [], "statements": 0} for name in kinds}
    for _ in range(loads):
        for name, action in kinds.items():
            ms, statements, result = timed_ms(action)
            unread = result if isinstance(result, int) else result["unread"]
            assert unread == expected_unread, (name, unread)
            found[name]["ms"].append(ms)
            found[name]["statements"] = statements
    return found


def readers_and_admin(recipients: int) -> tuple[Any, Any]:
    """``recipients`` users to notify (a queryset) and a chat admin, in the bench database."""
    from django.contrib.auth import get_user_model

    users = get_user_model()
    users.objects.bulk_create(
        users(username=f"reader{n}", email=f"reader{n}@bench.example") for n in range(recipients)
    )
    readers = users.objects.filter(username__startswith="reader")
    return readers, users.objects.create_user("admin", "admin@bench.example")


def measure_inapp(recipients: int, rounds: int) -> dict[str, Any]:
    from django.test import override_settings

    from django_notify_tasks import tasks  # noqa: F401 - registers the tasks Task.apply runs
    from django_notify_tasks.models import InboxItem
    from django_notify_tasks.testing import capture_dispatch, deliver
    from tests.testapp.models import Chat

    readers, admin = readers_and_admin(recipients)
    inapp = {"to": [lambda chat: readers], "title": "{{ instance.title }} was created",
             "body": "A new chat.", "url": "/chats/{{ instance.pk }}/"}  # fmt: skip
    rules = {"chat-created": {"model": "testapp.Chat", "on": ["created"], "inapp": inapp}}
    found: dict[str, Any] = {"recipients": recipients, "ms": [], "statements": []}
    with override_settings(NOTIFY_TASKS_RULES=rules):
        for n in range(rounds + 1):  # the first one warms up
            with capture_dispatch() as queued:
                Chat.objects.create(title=f"Chat {n}", admin=admin)
            ms, statements, ended = timed_ms(lambda queued=queued: deliver(queued))
            assert [row.status for row in ended] == ["sent"] * recipients
            assert InboxItem.objects.filter(notification_id=queued[0]).count() == recipients
            if n:
                found["ms"].append(ms)
                found["statements"].append(statements)
    return found


def child(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with database(db) as data_dir:
        setup(db, data_dir)
        return {
            "inbox": measure_inbox(args.items, args.loads),
            "inapp": measure_inapp(args.recipients, args.rounds),
        }


def spread(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"p50 {statistics.median(times):7.2f} ms  p90 {p90:7.2f} ms  "
            f"(range {min(times):.2f} to {max(times):.2f})")  # fmt: skip


def report(db: str, found: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\ninbox on {db}: one user with {args.items:,} items ({(args.items + 2) // 3:,} "
          f"unread), {args.loads} loads of each kind, interleaved")  # fmt: skip
    for name, figures in found["inbox"].items():
        print(f"  {name:>15}: {spread(figures['ms'])}, {figures['statements']} statements")
    inapp = found["inapp"]
    per = [ms / inapp["recipients"] for ms in inapp["ms"]]
    print(f"inapp channel on {db}: one notification to {inapp['recipients']:,} users, "
          f"processed and stored, {len(per)} rounds after one to warm up")  # fmt: skip
    print(f"  median {statistics.median(inapp['ms']):.0f} ms (range {min(inapp['ms']):.0f} "
          f"to {max(inapp['ms']):.0f}), {statistics.median(per):.3f} ms per recipient, "
          f"statements {sorted(set(inapp['statements']))}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=51)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with contextlib.redirect_stdout(io.StringIO()):
            found = child(args.child, args)
        print(json.dumps(found))
        return
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for db in args.db:
        command = [sys.executable, __file__, "--child", db, "--items", str(args.items)]
        command += ["--loads", str(args.loads), "--recipients", str(args.recipients)]
        command += ["--rounds", str(args.rounds)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        report(db, json.loads(done.stdout.splitlines()[-1]), args)
        sys.stdout.flush()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
