"""What the fault tests observe: an SMTP server that can hold a session, and the tally."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from django_notify_tasks.models import Delivery
from django_notify_tasks.tasks import redispatch_stale
from tests.faults.config import QUEUE
from tests.support.services import SmtpHandler, SmtpServer, free_port
from tests.support.workers import CeleryWorker


@dataclass
class GatedSmtpHandler(SmtpHandler):
    """Records messages like SmtpHandler; can hold the n-th MAIL, or the n-th reply to DATA.

    Holding MAIL stops a sender before the server has the message; holding after DATA stops
    it after the server has accepted (and recorded) the message but before the sender hears
    so: the one window in which a crash makes SMTP deliver twice.
    """

    hold_mail: int | None = None
    hold_reply: int | None = None
    mails: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.mails == self.hold_mail:
            await self._hold(server)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250") and len(self.messages) == self.hold_reply:
            await self._hold(server)
        return reply

    async def _hold(self, server: Any) -> None:
        # Continuation lines of the coming "250" reply keep the sender reading, within its
        # socket timeout, for as long as the test needs; it dies or is let go, never times out.
        self.held.set()
        with contextlib.suppress(ConnectionError):  # the sender was killed meanwhile
            while not self.release.is_set():
                await server.push("250-held by the test")
                await asyncio.sleep(0.2)

    def reset(self) -> None:
        self.messages.clear()
        self.refuse.clear()
        self.data_replies.clear()
        self.hold_mail = self.hold_reply = None
        self.mails = 0
        self.held.clear()
        self.release.clear()


class FaultSmtpServer(SmtpServer):
    """The SMTP server of the fault tests: gated, and refusing messages over a size limit."""

    def __init__(self, size_limit: int) -> None:
        self.handler = GatedSmtpHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, data_size_limit=size_limit
        )


@dataclass
class Tally:
    """What happened to the email deliveries of a test, from the rows and the SMTP server."""

    sent: int
    failed: dict[str, str]  # "rule: target" -> reason
    duplicated: int  # copies beyond the first of any Message-ID the server received
    lost: int  # deliveries neither failed nor received by the server
    unknown: int  # messages the server received that no sent row accounts for

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """(sent, failed, duplicated, lost), the figures each fault test asserts."""
        return self.sent, len(self.failed), self.duplicated, self.lost


def sending_task(worker: CeleryWorker) -> dict[str, Any]:
    """The one active task sending email: a processing run (it sends its first batch itself)
    or a ``deliver_email`` run."""
    [task] = [
        t for t in worker.active()
        if t["name"].endswith((".process_notification", ".deliver_email"))
    ]  # fmt: skip
    return task


def email_tally(smtp: FaultSmtpServer) -> Tally:
    """Count by Message-ID at the server: one copy per delivery is right, more is a duplicate."""
    received = Counter(message.message_id for message in smtp.messages)
    rows = Delivery.objects.filter(channel=Delivery.Channel.EMAIL)
    failed = failures(Delivery.Channel.EMAIL)
    sent_ids = set(rows.filter(status=Delivery.Status.SENT).values_list("message_id", flat=True))
    expected = rows.exclude(status=Delivery.Status.FAILED).count()
    return Tally(
        sent=len(sent_ids & received.keys()),
        failed=failed,
        duplicated=sum(count - 1 for count in received.values()),
        lost=expected - len(sent_ids & received.keys()),
        unknown=len(received.keys() - sent_ids),
    )


def settled(channel: str | None = None) -> bool:
    """Every delivery (of ``channel``) is sent or failed: nothing waits or is in flight."""
    rows = Delivery.objects.all() if channel is None else Delivery.objects.filter(channel=channel)
    return not rows.exclude(status__in=[Delivery.Status.SENT, Delivery.Status.FAILED]).exists()


def failures(channel: str) -> dict[str, str]:
    """The failed deliveries of ``channel``: ``"rule: target"`` -> the recorded reason."""
    rows = Delivery.objects.filter(channel=channel, status=Delivery.Status.FAILED)
    found = rows.values_list("notification__rule", "target", "error")
    return {f"{rule}: {target}": error for rule, target, error in found}


def sweep_until(
    worker: CeleryWorker, predicate: Callable[[], Any], timeout: float, message: str
) -> Any:
    """Once a second, as beat and a supervisor would: run the sweeper, restart a dead worker."""
    last_sweep = 0.0

    def swept() -> Any:
        nonlocal last_sweep
        if time.monotonic() - last_sweep >= 1:
            worker.restart_if_exited()
            redispatch_stale.apply_async(queue=QUEUE)
            last_sweep = time.monotonic()
        return predicate()

    return worker.wait_until(swept, timeout, message)


ACTIVE = "is the active one."  # what a relay logs when it takes the lease


def delivered(count: int) -> Callable[[], bool]:
    return lambda: Delivery.objects.count() == count and settled()


def actives(*workers: CeleryWorker) -> list[int]:
    """How often each worker's relay became the active one, from the logs."""
    return [worker.log(lines=100_000).count(ACTIVE) for worker in workers]
