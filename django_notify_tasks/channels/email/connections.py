"""Sending a claimed batch over one mail connection, or over several at once, each from a
thread of its own (``NOTIFY_TASKS_EMAIL_CONNECTIONS``), while the task's thread records
every result."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence

from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks.channels.base import OnError, OnSent
from django_notify_tasks.channels.email.backend import (
    close_quietly,
    open_mail_backend,
    send_message,
)
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery


def send_each(
    deliveries: Sequence[Delivery],
    on_sent: OnSent,
    on_error: OnError,
) -> None:
    """Send every delivery over ``NOTIFY_TASKS_EMAIL_CONNECTIONS`` backend connections (one by
    default) of its mailer, reporting each result from the calling thread."""
    by_mailer: dict[str | None, list[Delivery]] = {}
    for delivery in deliveries:
        by_mailer.setdefault((delivery.options or {}).get("mailer"), []).append(delivery)
    for mailer, group in by_mailer.items():
        count = min(app_settings.email_connections, len(group))
        if count > 1:
            _Connections(group, count, mailer).send(on_sent, on_error)
        else:
            _send_over_one(group, on_sent, on_error, mailer=mailer)


def _send_over_one(
    deliveries: Sequence[Delivery],
    on_sent: Callable[[Delivery], None],
    on_error: OnError,
    stop: threading.Event | None = None,
    mailer: str | None = None,
) -> None:
    """Send one delivery after another over one backend connection, until ``stop`` is set."""
    if not deliveries:
        return
    try:
        backend = open_mail_backend(mailer)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # an unknown mailer alias, a bad backend path or options
        for delivery in deliveries:
            on_error(
                delivery, PermanentDeliveryError(f"email backend: {type(exc).__name__}: {exc}")
            )
        return
    try:
        for delivery in deliveries:
            if stop is not None and stop.is_set():
                return
            try:
                send_message(backend, delivery)
            except (TransientDeliveryError, PermanentDeliveryError) as exc:
                on_error(delivery, exc)
            else:
                on_sent(delivery)
    finally:
        close_quietly(backend)


WAKE_INTERVAL = 0.2  # seconds: the longest a lost wake-up delays a connection or the run
GROUP_WAIT = 0.005  # seconds a result waits for the other connections' to be recorded with


class _Result:
    """One connection's result, waiting for the calling thread to record it."""

    __slots__ = ("arrived", "delivery", "done", "error", "wake")

    def __init__(self, delivery: Delivery, error: Exception | None) -> None:
        self.delivery, self.error = delivery, error
        self.arrived = time.monotonic()
        self.done = False  # the truth; ``wake`` only saves the connection a wait
        self.wake = threading.Event()


class _Connections:
    """Several connections, each sending its share from a thread of its own, while the
    calling thread records every result (the package's database work stays on the task's
    connection).

    A connection sends its next message only once its last one is recorded, so at most one
    accepted, unrecorded message per connection can be sent again after a crash. Results
    are recorded together: the calling thread waits up to ``GROUP_WAIT`` for every
    connection still sending to have one, then records them in one statement (one commit
    for several messages, where one each made the database the bottleneck). The soft
    time limit is an exception raised in the calling thread wherever it is, so that thread
    waits with nothing but a lock and a queue (a Condition can be left broken by it), every
    result stays in ``waiting`` until recorded, and each wait has a timeout: an exception
    that lands between two steps costs a wake-up, at worst a result recorded twice (the
    same UPDATE), never a result lost or a thread left waiting. When it comes, every
    connection stops after the message it is sending, and those results are recorded for
    up to ``NOTIFY_TASKS_EMAIL_TIMEOUT`` (well inside the hard limit, see ``_drain_time``);
    then the exception goes on, and the rows not recorded are given back.
    """

    def __init__(self, deliveries: Sequence[Delivery], count: int, mailer: str | None) -> None:
        self.mailer = mailer
        self.lock = threading.Lock()
        self.waiting: list[_Result] = []
        self.sending = count  # connections that have not finished their share
        self.doorbell: queue.SimpleQueue[None] = queue.SimpleQueue()  # a wake-up, no data
        self.stop = threading.Event()
        self.abandoned = False
        self.failure: Exception | None = None
        self.threads = [
            threading.Thread(
                target=self._send_share,
                args=(deliveries[n::count],),
                daemon=True,
                name=f"notify-tasks-email-{n + 1}",
            )
            for n in range(count)
        ]

    def send(self, on_sent: OnSent, on_error: OnError) -> None:
        try:
            for thread in self.threads:
                thread.start()
            self._record(on_sent, on_error)
        except BaseException:
            self.stop.set()
            try:
                self._record(on_sent, on_error, until=time.monotonic() + _drain_time())
            finally:
                self._abandon()  # a connection still sending gives up waiting for a record
            raise
        if self.failure is not None:  # as with one connection: the task fails with it
            raise self.failure

    def _record(self, on_sent: OnSent, on_error: OnError, until: float | None = None) -> None:
        while until is None or time.monotonic() < until:
            with self.lock:
                group, sending = list(self.waiting), self.sending
            if group:
                wait = group[0].arrived + GROUP_WAIT - time.monotonic()
                if len(group) >= sending or wait <= 0 or until is not None:
                    _record_group([result for result in group if not result.done],
                                  on_sent, on_error)  # fmt: skip
                    with self.lock:
                        for result in group:
                            self.waiting.remove(result)
                    continue
            elif not any(thread.is_alive() for thread in self.threads):
                return  # a connection ends only once its results are recorded
            else:
                wait = WAKE_INTERVAL
            with contextlib.suppress(queue.Empty):  # a result, or the last connection's end
                self.doorbell.get(timeout=wait)

    def _abandon(self) -> None:
        with self.lock:
            self.abandoned = True

    def _send_share(self, share: Sequence[Delivery]) -> None:
        def report(delivery: Delivery, error: Exception | None = None) -> None:
            result = _Result(delivery, error)
            with self.lock:
                if self.abandoned:
                    return  # the run has ended; it gave this row back unrecorded
                self.waiting.append(result)
            self.doorbell.put(None)
            while not result.done and not self.abandoned:
                result.wake.wait(WAKE_INTERVAL)

        try:
            _send_over_one(share, report, report, self.stop, self.mailer)
        except Exception as exc:  # a bug: the run fails with it once the others are recorded
            self.failure = exc
            self.stop.set()
        finally:
            with self.lock:
                self.sending -= 1
            self.doorbell.put(None)


def _record_group(group: list[_Result], on_sent: OnSent, on_error: OnError) -> None:
    """Record results, the sent ones in one call, then each error. A connection is let go
    only once its result is recorded: an exception that stops this part-way (the soft time
    limit) leaves the rest for the drain to record, not lost."""
    sent = [result for result in group if result.error is None]
    if sent:
        on_sent(*(result.delivery for result in sent))
        _let_go(sent)
    for result in group:
        if result.error is not None:
            on_error(result.delivery, result.error)
            _let_go([result])


def _let_go(results: list[_Result]) -> None:
    for result in results:
        result.done = True
        result.wake.set()


def _drain_time() -> float:
    """How long a stopped run records what its connections are finishing: one email timeout
    (a message in flight gets that long to be answered), within half the time between the
    soft and the hard limit, so the run gives the rest back before it is killed."""
    gap = app_settings.time_limit - app_settings.soft_time_limit
    return max(0.0, min(app_settings.email_timeout, gap / 2))
