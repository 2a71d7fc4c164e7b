"""``bench/realtime_fanout.py --server real``: the fan-out on a real Centrifugo, to real clients.

The server (``make centrifugo``) runs from the config ``manage.py notify_tasks_centrifugo_config``
writes, on a free loopback port (tests/support/centrifugo_server.py). One centrifuge-python client
per user connects with the package's connection token for that user and subscribes to its own
``personal:#<id>`` with the package's subscription token; the clients live in a child process
(bench/realtime_fanout_clients.py). Each round both paths send a new notification to every
channel, taking turns; each client stamps the arrival on the clock the publisher reads too.
At the end one more broadcast goes out: a client has everything before it, so a message that
came twice, or a lost one, shows.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace

from cent import InfoRequest
from django.test import override_settings

from bench.realtime_fanout_clients import Clients
from bench.realtime_fanout_paths import (
    LABELS,
    PATHS,
    broadcast,
    deliveries,
    request_starts,
    spread,
    turns,
)
from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.channels.realtime.tokens import (
    connection_token,
    personal_channel,
    subscription_token,
)
from tests.support.centrifugo_server import (
    REALTIME_SETTINGS,
    CentrifugoServer,
    find_binary,
    generated_config,
)

FENCE = 0  # the notification pk of the closing broadcast


@dataclass
class Round:
    """One path's send in one round: the call's time and each client's latencies."""

    seconds: float  # the path's call, all channels
    since_start: list[float]  # arrival - when the call began
    since_request: list[float]  # arrival - when the request carrying the channel began


def send(clients: Clients, count: int, name: str, notification_pk: int) -> Round:
    rows = deliveries(count, notification_pk)
    with request_starts() as starts:
        started = time.perf_counter()
        PATHS[name](rows)
        seconds = time.perf_counter() - started
    arrivals = clients.arrivals(notification_pk)
    return Round(
        seconds,
        [arrived - started for arrived in arrivals.values()],
        [arrived - starts[channel] for channel, arrived in arrivals.items()],
    )


def not_once(clients: Clients, count: int, sent: list[int]) -> list[str]:
    """Channels where a notification came other than exactly once, after the fence."""
    broadcast(deliveries(count, FENCE))
    clients.arrivals(FENCE)
    expected = sorted([*sent, FENCE])
    return [f"{ch}: {got}" for ch, got in clients.received().items() if sorted(got) != expected]


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least ``share`` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latencies(label: str, rounds: list[list[float]]) -> str:
    """p50, p99 and max over the clients, each a median over the rounds (min to max)."""
    parts = []
    for what, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        per_round = [percentile(values, share) for values in rounds]
        parts.append(f"{what} {spread(per_round).strip()}")
    return f"  {label:<30} " + "; ".join(parts)


def report(results: dict[str, list[Round]], channels: int) -> None:
    for name, rounds in results.items():
        print(f"{LABELS[name]}: {channels}/{channels} clients received each round's message")
        print(
            f"  {'publish call, all channels':<30} {spread([r.seconds for r in rounds]).strip()}"
        )
        print(latencies("arrival since the call began", [r.since_start for r in rounds]))
        print(latencies("arrival since its request", [r.since_request for r in rounds]))
    ours, naive = (statistics.median(r.seconds for r in results[name]) for name in PATHS)
    print(f"publish call: {naive / ours:.1f}x faster with broadcast (medians)")


def users(count: int) -> list[tuple[str, str, str]]:
    """(connection token, personal channel, subscription token) for users 1 to ``count``."""
    people = [SimpleNamespace(pk=pk) for pk in range(1, count + 1)]
    return [
        (connection_token(p), personal_channel(p), subscription_token(p, personal_channel(p)))
        for p in people
    ]


def measure(clients: Clients, channels: int, rounds: int) -> None:
    seconds = clients.connect()
    print(f"{channels} clients connected and subscribed in {seconds:.1f} s")
    results: dict[str, list[Round]] = {name: [] for name in PATHS}
    sent: list[int] = []
    for round_number in range(-1, rounds):  # round -1 warms up (channels' first history)
        for name in turns(round_number):
            sent.append(len(sent) + 1)
            measured = send(clients, channels, name, sent[-1])
            if round_number >= 0:
                results[name].append(measured)
    wrong = not_once(clients, channels, sent) + clients.problems()
    if wrong:
        sys.exit(f"not exactly once, or not without errors: {wrong[:5]}")
    print(f"every client got each of the {len(sent)} messages exactly once")
    report(results, channels)


def run_real(channels: int, rounds: int) -> None:
    binary, reason = find_binary()
    if binary is None:
        sys.exit(reason)
    server = CentrifugoServer(binary, generated_config())
    server.start()
    clients = None
    try:
        with override_settings(
            **REALTIME_SETTINGS, NOTIFY_TASKS_CENTRIFUGO_API_URL=server.api_url
        ):
            clients = Clients(server.ws_url, users(channels))  # forks: before any client
            [node] = realtime.client().info(InfoRequest()).nodes
            print(
                f"fan-out of one notification to {channels} personal channels, real Centrifugo "
                f"{node.version}, {rounds} rounds after an untimed one "
                "(median over the rounds, min to max)"
            )
            measure(clients, channels, rounds)
    finally:
        if clients is not None:
            clients.close()
        server.stop()
