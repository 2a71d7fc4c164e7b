"""What a matching rule costs the host's save(): ours against no notification and naive .delay().

All three run in one process against the same SQLite file and a real redis-server broker:
  none   the save alone (no rules)
  naive  the save plus some_task.delay(pk) inside the transaction (the pattern to avoid)
  ours   the save with one matching rule: outbox INSERT, then apply_async after commit

    .venv/bin/python bench/request_path.py [--saves 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("NOTIFY_TASKS_TEST_DB_DIR", tempfile.mkdtemp(prefix="bench-request-"))

import django  # noqa: E402

django.setup()

from celery import shared_task  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from tests.celery_app import app  # noqa: E402
from tests.services import RedisServer  # noqa: E402
from tests.testapp.models import Chat  # noqa: E402

RULE = {
    "chat-created": {
        "model": "testapp.Chat",
        "on": ["created"],
        "email": {"to": ["admin.email"], "subject": "New chat", "body": "."},
    }
}


@shared_task(name="bench.naive_notify", ignore_result=True)
def naive_notify(chat_id: int) -> None:
    """Stands in for a notification task a project would call from save()."""


def save(admin: object, naive: bool) -> None:
    with transaction.atomic():
        chat = Chat.objects.create(title="Bench", admin=admin)
        if naive:
            naive_notify.delay(chat.pk)


def timed(saves: int, action: Callable[[], None]) -> float:
    started = time.perf_counter()
    for _ in range(saves):
        action()
    return (time.perf_counter() - started) / saves * 1e6  # microseconds per save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    redis = RedisServer(settings.REDIS_TEST_PORT)
    redis.start()
    try:
        call_command("migrate", verbosity=0)
        admin = get_user_model().objects.create_user("bench", "bench@chat.example", "pw")
        app.connection_for_write().ensure_connection()
        cases = {
            "none": ({}, False),
            "naive .delay()": ({}, True),
            "django-notify-tasks": (RULE, False),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):  # interleaved, so drift hits every case alike
            for name, (rules, naive) in cases.items():
                with override_settings(NOTIFY_TASKS_RULES=rules):
                    results[name].append(timed(args.saves, lambda n=naive: save(admin, n)))
        with override_settings(NOTIFY_TASKS_RULES=RULE), CaptureQueriesContext(connection) as q:
            save(admin, naive=False)
        selects = [x["sql"] for x in q.captured_queries if x["sql"].startswith("SELECT")]
    finally:
        redis.stop()
    print(f"request path: {args.saves} saves x {args.rounds} rounds, SQLite file, real Redis")
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, median in medians.items():
        print(f"{name:<22} {median:>8.0f} us per save (median of rounds)")
    ratio = medians["django-notify-tasks"] / medians["naive .delay()"]
    print(f"ours / naive: {ratio:.2f}x (target <= 1.25x)")
    print(f"SELECTs in one save with the rule: {len(selects)} (target 0)")


if __name__ == "__main__":
    main()
