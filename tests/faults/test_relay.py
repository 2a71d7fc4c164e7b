"""The outbox relay in real prefork workers: one active per database, another takes over
when it dies, and a broker outage delays what the relay hands over but loses nothing.

No sweeper runs here: what is delivered, the relay handed over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.faults import config
from tests.faults.conftest import Faults
from tests.faults.harness import actives, delivered, email_tally
from tests.support.services import wait_for
from tests.support.workers import CeleryWorker
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def test_one_relay_of_two_workers_is_active_and_the_other_takes_over(
    faults: Faults, relay_workers: Callable[[], CeleryWorker], chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = config.rules("chat-created")
    first, second = relay_workers(), relay_workers()
    wait_for(lambda: sum(actives(first, second)) == 1, 30, "one relay active")
    for number in range(10):
        Chat.objects.create(title=f"before {number}", admin=chat_admin)
    first.wait_until(delivered(10), 60, "10 delivered by the relay")
    assert sorted(actives(first, second)) == [0, 1]  # the other never took over meanwhile

    active, standby = (first, second) if actives(first, second)[0] else (second, first)
    active.kill()  # the lease (SQLite) expires, the lock (PostgreSQL) goes with the connection
    for number in range(10):
        Chat.objects.create(title=f"after {number}", admin=chat_admin)
    standby.wait_until(lambda: actives(standby) == [1], 60, "the standby relay taking over")
    standby.wait_until(delivered(20), 60, "20 delivered by the relay")
    assert email_tally(faults.smtp).counts == (20, 0, 0, 0)


def test_broker_down_during_relay_saves_publish_nothing_and_all_are_delivered_after(
    faults: Faults, relay_workers: Callable[[], CeleryWorker], chat_admin: Any, caplog: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = config.rules("chat-created")
    worker = relay_workers()
    wait_for(lambda: actives(worker) == [1], 30, "the relay active")
    faults.broker.stop()
    started = time.monotonic()
    for number in range(50):
        Chat.objects.create(title=f"outage {number}", admin=chat_admin)
    seconds = time.monotonic() - started
    assert "Could not send" not in caplog.text  # the saves never tried the broker
    # The relay tries, and logs that it could not; or kombu ends the worker (Redis, 5.7.0).
    refused = lambda: "Could not send" in worker.log(lines=100_000) or worker.exited()  # noqa: E731
    worker.wait_until(refused, 30, "the relay refused by the broker")
    faults.broker.start()

    def supervised() -> bool:  # what systemd's Restart=always does for a worker kombu ended
        worker.restart_if_exited()
        return delivered(50)()

    worker.wait_until(supervised, 90, "50 delivered by the relay after the outage")
    assert email_tally(faults.smtp).counts == (50, 0, 0, 0)
    print(f"50 saves with the broker down: {seconds:.2f} s")
