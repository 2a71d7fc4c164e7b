"""NOTIFY_TASKS_EMAIL_CONNECTIONS: a run sends its batch over several connections at once.

Each connection sends from a thread of its own; every result is recorded from the task's
thread, and a connection sends its next message only once its last one is recorded, so a
crash can leave at most one accepted, unrecorded message per connection.
"""

from __future__ import annotations

import inspect
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail.backends.base import BaseEmailBackend

from django_notify_tasks import deliveries, sending
from django_notify_tasks.channels.email import backend as email_backend
from django_notify_tasks.channels.email import connections as email_connections
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification
from tests.support.services import SmtpServer, wait_for
from tests.test_email_backends import use_backend

pytestmark = pytest.mark.django_db


def claimed_rows(count: int) -> list[int]:
    notification = Notification.objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1"
    )
    Delivery.objects.bulk_create(
        Delivery(
            notification=notification,
            channel="email",
            target=f"m{n}@chat.example",
            subject="s",
            body="b",
        )  # fmt: skip
        for n in range(count)
    )
    return list(Delivery.objects.order_by("pk").values_list("pk", flat=True))


def unsent(count: int) -> list[Delivery]:
    """``count`` claimed rows as a run hands them to ``send_each`` (notification loaded)."""
    return list(Delivery.objects.filter(pk__in=claimed_rows(count)).select_related("notification"))


def in_step(monkeypatch: pytest.MonkeyPatch, refused: str = "") -> None:
    """The three connections hand over each message at the same moment, and the recorder
    waits as long as it takes: every group is one result from each connection.
    ``refused``: an address the server refuses for good."""
    monkeypatch.setattr(email_connections, "GROUP_WAIT", 60.0)
    together = threading.Barrier(3, timeout=10)
    send = email_connections.send_message

    def send_in_step(backend: Any, delivery: Delivery) -> None:
        together.wait()
        if delivery.target == refused:
            raise PermanentDeliveryError("550 refused")
        send(backend, delivery)

    monkeypatch.setattr(email_connections, "send_message", send_in_step)


class CheckingBackend(BaseEmailBackend):
    """Sends nothing; notes, per connection, whether its last message was recorded before
    it was handed the next one. ``hook`` runs in the sending thread, after each message."""

    recorded: ClassVar[set[str]] = set()
    accepted: ClassVar[list[str]] = []
    early: ClassVar[list[str]] = []  # sent while the connection's last one was unrecorded
    threads: ClassVar[set[str]] = set()
    hook: ClassVar[Any] = None
    lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last: str | None = None  # this connection's last message (open() runs for each)

    def send_messages(self, email_messages: Any) -> int:
        [message] = email_messages
        if self.last is not None and self.last not in self.recorded:
            self.early.append(message.to[0])
        with self.lock:
            self.threads.add(threading.current_thread().name)
            self.accepted.append(message.to[0])
            accepted = len(self.accepted)
        self.last = message.to[0]
        if CheckingBackend.hook is not None:
            CheckingBackend.hook(accepted, message.to[0])
        return 1


@pytest.fixture
def checking(settings: Any) -> Iterator[type[CheckingBackend]]:
    use_backend(settings, f"{__name__}.CheckingBackend")
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 3
    CheckingBackend.recorded, CheckingBackend.accepted = set(), []
    CheckingBackend.early, CheckingBackend.threads, CheckingBackend.hook = [], set(), None
    yield CheckingBackend


def test_the_default_is_three_connections() -> None:
    assert app_settings.email_connections == 3


def test_a_batch_goes_out_over_several_smtp_connections_each_message_once(
    settings: Any, smtp_server: SmtpServer
) -> None:
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 3
    ids = claimed_rows(10)
    outcome = sending.send_batch(ids, "email", "default")
    assert sorted(outcome.sent) == ids and not outcome.retry and not outcome.failed
    assert smtp_server.handler.connections == 3
    received = sorted(m.envelope_to[0] for m in smtp_server.messages)
    assert received == sorted(f"m{n}@chat.example" for n in range(10))
    rows = Delivery.objects.all()
    assert {row.status for row in rows} == {"sent"}
    assert {row.message_id for row in rows} == {m.message_id for m in smtp_server.messages}


def test_results_are_recorded_by_the_calling_thread_before_the_next_message(
    checking: type[CheckingBackend],
) -> None:
    rows = unsent(12)
    recorders: set[str] = set()

    def on_sent(*sent: Delivery) -> None:
        recorders.add(threading.current_thread().name)
        checking.recorded.update(delivery.target for delivery in sent)

    email_connections.send_each(rows, on_sent, lambda delivery, error: pytest.fail(str(error)))
    assert sorted(checking.accepted) == sorted(d.target for d in rows)
    assert len(checking.threads) == 3 and threading.current_thread().name not in checking.threads
    assert recorders == {threading.current_thread().name}  # the database work stays here
    assert checking.early == []  # never more than one unrecorded message per connection


def test_the_connections_results_are_recorded_together(
    checking: type[CheckingBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_step(monkeypatch)
    groups: list[int] = []

    def on_sent(*sent: Delivery) -> None:
        groups.append(len(sent))
        checking.recorded.update(delivery.target for delivery in sent)

    email_connections.send_each(unsent(12), on_sent, lambda d, e: pytest.fail(str(e)))
    assert groups == [3, 3, 3, 3]
    assert checking.early == []  # still at most one unrecorded message per connection


def test_the_soft_time_limit_while_a_group_is_recorded_loses_none_of_its_results(
    checking: type[CheckingBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_step(monkeypatch, refused="m5@chat.example")  # the third connection's second message
    write = deliveries.mark_sent
    writes: list[list[str]] = []

    def stopped_at_the_second_group(rows: Any, *args: Any) -> None:
        writes.append([row.target for row in rows])
        if len(writes) == 2:
            raise SoftTimeLimitExceeded  # before that group's UPDATE
        write(rows, *args)

    monkeypatch.setattr(deliveries, "mark_sent", stopped_at_the_second_group)
    outcome = sending.send_batch(claimed_rows(12), "email", "default")
    status = dict(Delivery.objects.values_list("target", "status"))
    accepted = set(checking.accepted)
    assert outcome.out_of_time and accepted == {f"m{n}@chat.example" for n in (0, 1, 2, 3, 4)}
    assert {status[target] for target in accepted} == {"sent"}  # recorded by the drain
    assert status["m5@chat.example"] == "failed"
    rest = {target for target in status if target not in accepted | {"m5@chat.example"}}
    assert {status[target] for target in rest} == {"retrying"}  # given back, never sent


def test_a_connection_that_hangs_holds_the_others_back_no_longer_than_the_group_wait(
    checking: type[CheckingBackend],
) -> None:
    # The first connection's message is answered only once the others' shares are recorded:
    # a recorder waiting for all three connections to group their results would never get
    # there, and the barrier would time out.
    others_recorded = threading.Event()
    rows = unsent(9)
    first = rows[0].target  # the first connection's share starts with it
    others = {delivery.target for delivery in rows[1::3] + rows[2::3]}

    def hang_on_first(accepted: int, address: str) -> None:
        if address == first:
            assert others_recorded.wait(timeout=10), "the other connections were held back"

    checking.hook = hang_on_first

    def on_sent(*sent: Delivery) -> None:
        checking.recorded.update(delivery.target for delivery in sent)
        if others <= checking.recorded:
            others_recorded.set()

    email_connections.send_each(rows, on_sent, lambda d, e: pytest.fail(str(e)))
    assert checking.recorded == {delivery.target for delivery in rows}


def test_one_connection_sends_from_the_calling_thread(
    checking: type[CheckingBackend], settings: Any
) -> None:
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 1
    sending.send_batch(claimed_rows(4), "email", "default")
    assert checking.threads == {threading.current_thread().name}


# The line of _Connections._record where the calling thread waits for the connections.
_LINES, _FIRST = inspect.getsourcelines(email_connections._Connections._record)
DOORBELL_LINE = _FIRST + next(n for n, line in enumerate(_LINES) if "doorbell.get" in line)


def waiting_for_results(frame: Any) -> bool:
    """The calling thread is waiting for the connections (where it spends its idle time)."""
    return frame is not None and (frame.f_code.co_name, frame.f_lineno) == (
        "_record",
        DOORBELL_LINE,
    )


def strike_when_waiting() -> None:
    """From a sending thread: SIGUSR1 to the calling thread once it waits for results."""
    main = threading.main_thread().ident or 0
    wait_for(lambda: waiting_for_results(sys._current_frames().get(main)),
             message="the calling thread waiting for results")  # fmt: skip
    signal.pthread_kill(main, signal.SIGUSR1)


@pytest.fixture
def soft_time_limit() -> Iterator[list[int]]:
    """SIGUSR1 raises SoftTimeLimitExceeded in the calling thread, as billiard's handler
    does, once, and only while that thread waits for results: struck while recording one,
    it would leave that row as the one-connection run leaves it (in "sending", for the
    sweeper), which is not what these tests are about."""
    raised: list[int] = []

    def out_of_time(signum: int, frame: Any) -> None:
        if not raised and waiting_for_results(frame):
            raised.append(1)
            raise SoftTimeLimitExceeded

    previous = signal.signal(signal.SIGUSR1, out_of_time)
    yield raised
    signal.signal(signal.SIGUSR1, previous)


def test_the_soft_time_limit_stops_every_connection_and_nothing_sent_is_left_unrecorded(
    checking: type[CheckingBackend], soft_time_limit: list[int]
) -> None:
    def hook(accepted: int, address: str) -> None:
        if accepted == 4:  # from a sending thread, with a message accepted and unrecorded
            strike_when_waiting()

    checking.hook = hook
    outcome = sending.send_batch(claimed_rows(30), "email", "default")
    assert outcome.out_of_time and soft_time_limit
    sent = set(Delivery.objects.filter(status="sent").values_list("target", flat=True))
    assert sent == set(checking.accepted)  # each message that went out is recorded as sent
    assert 4 <= len(sent) < 30
    left = Delivery.objects.exclude(status="sent")
    assert {row.status for row in left} == {"retrying"}  # given back, none stuck in sending
    assert sorted(outcome.retry) == sorted(row.pk for row in left)


def test_a_message_still_in_flight_after_the_drain_time_is_given_back(
    checking: type[CheckingBackend], soft_time_limit: list[int], settings: Any
) -> None:
    settings.NOTIFY_TASKS_EMAIL_TIMEOUT = 0.3  # the drain time: one email timeout
    slow, stuck = threading.Event(), []

    def hook(accepted: int, address: str) -> None:
        if accepted == 4:
            stuck.append(address)
            strike_when_waiting()
            slow.wait(30)  # this connection's message is answered long after the limit

    checking.hook = hook
    try:
        outcome = sending.send_batch(claimed_rows(30), "email", "default")
    finally:
        slow.set()
    assert outcome.out_of_time
    # Not waited for: given back for a later run (which may send it again, as after a crash).
    assert Delivery.objects.get(target=stuck[0]).status == "retrying"


def test_a_bug_in_a_connection_fails_the_run_after_the_others_are_recorded(
    checking: type[CheckingBackend], monkeypatch: Any
) -> None:
    send = email_backend.send_message

    def send_or_break(backend: Any, delivery: Delivery) -> None:
        if delivery.target == "m4@chat.example":
            raise RuntimeError("a bug")
        send(backend, delivery)

    monkeypatch.setattr(email_connections, "send_message", send_or_break)
    with pytest.raises(RuntimeError, match="a bug"):  # as it would with one connection
        sending.send_batch(claimed_rows(30), "email", "default")
    sent = set(Delivery.objects.filter(status="sent").values_list("target", flat=True))
    assert sent == set(checking.accepted) and "m4@chat.example" not in sent


def test_connections_that_cannot_open_fail_their_shares(settings: Any) -> None:
    use_backend(settings, "no.such.Backend")
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 2
    outcome = sending.send_batch(claimed_rows(5), "email", "default")
    assert len(outcome.failed) == 5
    assert all(reason.startswith("email backend: ") for reason in outcome.failed.values())
