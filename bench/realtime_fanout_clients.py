"""The WebSocket clients of ``bench/realtime_fanout.py --server real``, in a process of their own.

A child process holds the ``Crowd`` (tests/support/realtime_client.py: one centrifuge-python
client per user on one event loop), so taking in 1,000 messages never competes with the
publisher for this process's GIL, as a browser's would not. Each client stamps an arrival
with ``time.perf_counter()``: on Linux that is CLOCK_MONOTONIC, one clock for every process
on the machine, so the publisher's times and the clients' subtract.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from tests.support.realtime_client import Crowd, Received
from tests.support.services import wait_for

ANSWER_TIMEOUT = 120.0  # seconds for the child to answer any one command


def notification_of(data: Any) -> int:
    return int(data["notification"])


def arrival(received: Received, notification_pk: int) -> float | None:
    for (_, data), arrived in zip(received.publications, received.arrivals, strict=False):
        if notification_of(data) == notification_pk:
            return arrived
    return None


class Clients:
    """The publisher's side: a child process with the clients, and a pipe to ask it things."""

    def __init__(self, ws_url: str, users: Sequence[tuple[str, str, str]]) -> None:
        """``users``: (connection token, channel, subscription token), one client each."""
        self.pipe, child_end = multiprocessing.Pipe()
        context = multiprocessing.get_context("fork")  # no threads here yet: safe to fork
        self.process = context.Process(target=_serve, args=(child_end, ws_url, users))
        self.process.start()

    def _ask(self, *command: Any) -> Any:
        self.pipe.send(command)
        if not self.pipe.poll(ANSWER_TIMEOUT):
            raise RuntimeError(f"the clients' process did not answer {command[0]!r}")
        failed, answer = self.pipe.recv()
        if failed:
            raise RuntimeError(f"the clients' process failed at {command[0]!r}:\n{answer}")
        return answer

    def connect(self) -> float:
        """Connect and subscribe every client; the seconds it took."""
        seconds: float = self._ask("connect")
        return seconds

    def arrivals(self, notification_pk: int) -> dict[str, float]:
        """Channel -> when its client got the notification, once every client has it."""
        found: dict[str, float] = self._ask("arrivals", notification_pk)
        return found

    def received(self) -> dict[str, list[int]]:
        """Channel -> the notification pks its client got, in order."""
        found: dict[str, list[int]] = self._ask("received")
        return found

    def problems(self) -> list[str]:
        """Client errors, disconnects and subscription errors seen so far."""
        found: list[str] = self._ask("problems")
        return found

    def close(self) -> None:
        """Disconnect every client and wait for the child; kill it (by its pid) if it hangs."""
        try:
            if self.process.is_alive():
                self._ask("close")
        finally:
            self.process.join(timeout=30)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()


def _serve(pipe: Connection, ws_url: str, users: Sequence[tuple[str, str, str]]) -> None:
    crowd = Crowd(ws_url, users)
    commands = _commands(crowd)
    while True:
        name, *args = pipe.recv()
        try:
            pipe.send((False, commands[name](*args)))
        except Exception:
            pipe.send((True, traceback.format_exc()))
        if name == "close":
            return


def _commands(crowd: Crowd) -> dict[str, Callable[..., Any]]:
    def connect() -> float:
        started = time.perf_counter()
        crowd.connect()
        return time.perf_counter() - started

    def arrivals(notification_pk: int) -> dict[str, float]:
        def everyone() -> dict[str, float] | None:
            if any(arrival(r, notification_pk) is None for r in crowd.received.values()):
                return None  # stops at the first client still waiting
            return {ch: arrival(r, notification_pk) or 0.0 for ch, r in crowd.received.items()}

        message = f"every client to receive notification {notification_pk}"
        found: dict[str, float] = wait_for(everyone, timeout=60, message=message)
        return found

    def received() -> dict[str, list[int]]:
        return {ch: [notification_of(d) for d in r.data] for ch, r in crowd.received.items()}

    def problems() -> list[str]:
        found = [repr(e) for e in crowd.errors] + [repr(d) for d in crowd.disconnects]
        return found + [f"{ch}: {r.errors}" for ch, r in crowd.received.items() if r.errors]

    return {
        "connect": connect,
        "arrivals": arrivals,
        "received": received,
        "problems": problems,
        "close": crowd.close,
    }
