"""Fan-out of one notification to 1,000 personal channels: our broadcast against one publish each.

Both paths are the package's own sending code with the real cent client
(bench/realtime_fanout_paths.py), taking turns in each round.

``--server double`` (the default): against the Centrifugo double (tests/support/centrifugo.py),
a fresh one each run; prints the HTTP requests made, the wall time and the ratios.

``--server real``: against a real Centrifugo (``make centrifugo``) started from the generated
config, with one real WebSocket client (centrifuge-python) per user subscribed to its own
personal channel; prints the publish time and when each client received the message
(bench/realtime_fanout_real.py).

    .venv/bin/python bench/realtime_fanout.py [--server double|real] [--channels 1000] [--rounds 5]
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

from django.test import override_settings  # noqa: E402

from bench.realtime_fanout_paths import LABELS, PATHS, deliveries, spread, turns  # noqa: E402
from tests.support.centrifugo import CentrifugoDouble  # noqa: E402

KEY = "bench-key"


def on_double(name: str, count: int) -> tuple[float, int]:
    """One run of a path against a fresh double: (seconds, HTTP requests)."""
    rows = deliveries(count)
    with (
        CentrifugoDouble(KEY, idempotency_window=0.0) as double,
        override_settings(
            NOTIFY_TASKS_CENTRIFUGO_API_URL=double.api_url, NOTIFY_TASKS_CENTRIFUGO_API_KEY=KEY
        ),
    ):
        started = time.perf_counter()
        PATHS[name](rows)
        seconds = time.perf_counter() - started
        if len(double.publications) != count:
            sys.exit(f"{name}: the double got {len(double.publications)} of {count}")
        return seconds, double.requests_count


def run_double(channels: int, rounds: int) -> None:
    print(f"fan-out of one notification to {channels} channels, Centrifugo double")
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    requests: dict[str, int] = {}
    for round_number in range(-1, rounds):  # round -1 warms up (cent's first requests)
        for name in turns(round_number):
            seconds, requests[name] = on_double(name, channels)
            if round_number >= 0:
                times[name].append(seconds)
    for name in PATHS:
        print(f"{LABELS[name]:<32} {requests[name]:>6} requests {spread(times[name])}")
    ours, naive = (statistics.median(times[name]) for name in PATHS)
    print(
        f"requests: {requests['per-channel'] / requests['broadcast']:.0f}x fewer (target >= 20x)"
    )
    print(
        f"wall time: {naive / ours:.1f}x faster (target >= 10x), "
        f"medians of {rounds} rounds after an untimed one"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--server", choices=["double", "real"], default="double")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.server == "real":
        from bench.realtime_fanout_real import run_real

        run_real(args.channels, args.rounds)
    else:
        run_double(args.channels, args.rounds)


if __name__ == "__main__":
    main()
