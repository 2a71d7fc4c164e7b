"""A real SMTP server (aiosmtpd) in a process of its own, counting what it receives.

It runs apart from the bench process, as a mail server would: in the bench process its
thread would wait for the GIL behind the code that saves and enqueues, and slow every case.
It prints its port, then answers one line per command on stdin:

    stats  ->  "<messages> <connections> <time.monotonic() of the last message> <copies>"
    reset  ->  "ok"

A message is counted once per recipient (each benchmark message goes to an address of its
own): a copy of one already received counts under "copies", not as a message, so a case
that sends a message twice gets no credit for it.

``BENCH_SMTP_DELAY`` (seconds, 0 by default) holds each message's reply that long, as the
round trips to a mail server elsewhere would (tens of milliseconds a message); sessions wait
apart from one another, so what it measures is how many connections a case keeps busy.

``time.monotonic()`` is the system's CLOCK_MONOTONIC on Linux, so the bench process can
subtract its own start time from the time of the last message.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class SmtpCounter:
    """The bench's handle on the server process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stats(self) -> tuple[int, int, float, int]:
        """(messages, connections, monotonic time of the last new message, copies received
        of messages already counted) since the last reset."""
        messages, connections, last, copies = self._ask("stats").split()
        return int(messages), int(connections), float(last), int(copies)

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def serve() -> None:
    sys.path.insert(0, str(ROOT))
    from aiosmtpd.controller import Controller

    from tests.support.services import SmtpHandler, free_port

    @dataclass
    class CountingHandler(SmtpHandler):
        """Counts messages by recipient, copies apart (and, through SmtpHandler, connections);
        keeps only the recipients."""

        recipients: set[tuple[str, ...]] = field(default_factory=set)
        copies: int = 0
        last: float = 0.0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            if delay:
                await asyncio.sleep(delay)
            recipients = tuple(envelope.rcpt_tos)
            if recipients in self.recipients:
                self.copies += 1
            else:
                self.recipients.add(recipients)
                self.last = time.monotonic()
            return "250 Message accepted"

    delay = float(os.environ.get("BENCH_SMTP_DELAY") or 0)
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    for line in sys.stdin:  # ends when the bench closes stdin
        if line.strip() == "reset":
            handler.recipients.clear()
            handler.copies, handler.connections, handler.last = 0, 0, 0.0
            print("ok", flush=True)
        else:
            count = len(handler.recipients)
            print(count, handler.connections, handler.last, handler.copies, flush=True)
    controller.stop()


if __name__ == "__main__":
    serve()
