"""The two ways bench/realtime_fanout.py sends one notification to many personal channels.

Both go through the package's own sending code (channels/realtime/publish.py) and the real
``cent`` client, against whatever ``NOTIFY_TASKS_CENTRIFUGO_API_URL`` points at:

* ``broadcast``: ``publish_each``, what the realtime channel does with a claimed batch (one
  ``broadcast`` request per 500 channels);
* ``per-channel``: the package's ``publish`` once for each channel, the naive pattern.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.utils import timezone

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery, Notification


def payload(notification_pk: int) -> str:
    """A rule's message as the delivery rows hold it: JSON text, naming its notification."""
    return f'{{"text":"bob joined Gardening","notification":{notification_pk}}}'


def deliveries(count: int, notification_pk: int = 1) -> list[Delivery]:
    """Unsaved rows of one unsaved notification: the publish reads nothing from a database.

    A new ``notification_pk`` makes a new idempotency key, so a real server publishes again."""
    notification = Notification(pk=notification_pk, created_at=timezone.now())
    return [
        Delivery(
            pk=i,
            notification=notification,
            channel="realtime",
            target=f"personal:#{i}",
            body=payload(notification_pk),
        )
        for i in range(1, count + 1)
    ]


def _failed(delivery: Delivery, error: Exception) -> None:
    sys.exit(f"publish to {delivery.target} failed: {error}")


def broadcast(rows: list[Delivery]) -> None:
    sent: list[Delivery] = []
    realtime.publish_each(rows, lambda *done: sent.extend(done), _failed)
    if len(sent) != len(rows):
        sys.exit(f"broadcast sent {len(sent)} of {len(rows)}")


def per_channel(rows: list[Delivery]) -> None:
    for row in rows:
        realtime.publish(row.target, json.loads(row.body), realtime.idempotency_key(row))


PATHS: dict[str, Callable[[list[Delivery]], None]] = {
    "broadcast": broadcast,
    "per-channel": per_channel,
}
LABELS = {
    "broadcast": "django-notify-tasks (broadcast)",
    "per-channel": "one publish per channel",
}


def spread(values: list[float]) -> str:
    """``median (min to max)`` of seconds, in milliseconds."""
    low, mid, high = (1000 * v for v in (min(values), statistics.median(values), max(values)))
    return f"{mid:8.1f} ms ({low:.1f} to {high:.1f})"


def turns(round_number: int) -> list[str]:
    """The paths in the order they run this round: who goes first alternates."""
    names = list(PATHS)
    return names if round_number % 2 == 0 else names[::-1]


@contextlib.contextmanager
def request_starts() -> Iterator[dict[str, float]]:
    """Channel -> ``time.perf_counter()`` when the request carrying it began, for every
    ``publish`` and ``broadcast`` the package's cent client makes meanwhile."""
    starts: dict[str, float] = {}
    api = realtime.client()

    def timed(method: Callable[[Any], Any], channels: Callable[[Any], list[str]]) -> Any:
        def call(request: Any) -> Any:
            now = time.perf_counter()
            starts.update(dict.fromkeys(channels(request), now))
            return method(request)

        return call

    originals = api.publish, api.broadcast
    api.publish = timed(api.publish, lambda request: [request.channel])
    api.broadcast = timed(api.broadcast, lambda request: list(request.channels))
    try:
        yield starts
    finally:
        api.publish, api.broadcast = originals
