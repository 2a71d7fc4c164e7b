"""Fan-out of one notification to 1,000 personal channels: our path against one publish each.

Both run in the same process against the same Centrifugo double (tests/support/centrifugo.py), with
the real cent client. Prints HTTP requests made and wall time for each, and the ratios.

    .venv/bin/python bench/realtime_fanout.py [--channels 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from cent import Client, PublishRequest  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from django_notify_tasks.channels.realtime import publish as realtime  # noqa: E402
from django_notify_tasks.models import Delivery, Notification  # noqa: E402
from tests.support.centrifugo import CentrifugoDouble  # noqa: E402

KEY = "bench-key"
PAYLOAD = '{"text":"bob joined Gardening","notification":1}'


def deliveries(count: int) -> list[Delivery]:
    """Unsaved rows of one unsaved notification: the publish reads nothing from a database."""
    notification = Notification(pk=1, created_at=timezone.now())
    return [
        Delivery(
            pk=i,
            notification=notification,
            channel="realtime",
            target=f"personal:#{i}",
            body=PAYLOAD,
        )
        for i in range(1, count + 1)
    ]


def ours(double: CentrifugoDouble, rows: list[Delivery]) -> tuple[int, int]:
    sent: list[Delivery] = []
    with override_settings(
        NOTIFY_TASKS_CENTRIFUGO_API_URL=double.api_url, NOTIFY_TASKS_CENTRIFUGO_API_KEY=KEY
    ):
        realtime.publish_each(rows, sent.append, lambda d, e: sys.exit(f"failed: {e}"))
    return len(sent), double.requests_count


def naive(double: CentrifugoDouble, rows: list[Delivery]) -> tuple[int, int]:
    client = Client(double.api_url, KEY, timeout=3)
    for row in rows:
        client.publish(PublishRequest(channel=row.target, data={"text": "bob joined"}))
    return len(rows), double.requests_count


def measure(name: str, run, rows: list[Delivery], rounds: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    times, requests = [], 0
    for _ in range(rounds):
        with CentrifugoDouble(KEY, idempotency_window=0.0) as double:
            started = time.perf_counter()
            published, requests = run(double, rows)
            times.append(time.perf_counter() - started)
            assert published == len(rows) == len(double.publications), name
    median = statistics.median(times)
    print(f"{name:<28} {requests:>8} requests  {median * 1000:>9.1f} ms (median of {rounds})")
    return median, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = deliveries(args.channels)
    print(f"fan-out of one notification to {args.channels} channels, Centrifugo double")
    our_time, our_requests = measure("django-notify-tasks", ours, rows, args.rounds)
    naive_time, naive_requests = measure("one publish per channel", naive, rows, args.rounds)
    print(f"requests: {naive_requests / our_requests:.0f}x fewer (target >= 20x)")
    print(f"wall time: {naive_time / our_time:.1f}x faster (target >= 10x)")


if __name__ == "__main__":
    main()
