"""A pool process SIGKILLed in the middle of a batch of deliveries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from django_notify_tasks.models import Delivery
from tests.faults.config import KILL_RECIPIENTS, rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, sending_task, settled, sweep_until
from tests.support.services import wait_for
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def kill_the_sender(faults: Faults) -> int:
    """SIGKILL the pool process sending email (the one the SMTP server holds)."""
    wait_for(faults.smtp.handler.held.is_set, message="the SMTP server holding a sender")
    task = sending_task(faults.worker)
    faults.worker.kill_pool_process(task["worker_pid"])
    wait_for(lambda: task["worker_pid"] not in faults.worker.pool_pids(), message="the kill")
    faults.smtp.handler.release.set()  # the server goes on, talking to a closed connection
    return int(task["worker_pid"])


def test_pool_process_killed_mid_batch_every_message_arrives_once(
    faults: Faults, chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-to-30")
    faults.smtp.handler.hold_mail = 11  # the sender dies before message 11 is handed over
    Chat.objects.create(title="Reading club", admin=chat_admin)

    killed = kill_the_sender(faults)
    # The main process requeues the message (reject_on_worker_lost); the rows the dead run
    # claimed are not claimable by anyone until NOTIFY_TASKS_TIME_LIMIT has passed, and then
    # the sweeper sends them.
    sweep_until(
        faults.worker, lambda: Delivery.objects.count() == 30 and settled(), 40, "all 30 settled"
    )
    tally = email_tally(faults.smtp)
    assert tally.counts == (30, 0, 0, 0)
    assert tally.unknown == 0
    assert sorted(m.envelope_to[0] for m in faults.smtp.messages) == KILL_RECIPIENTS
    # Ten went out before the kill; the other twenty were claimed twice, sent once.
    assert Counter(Delivery.objects.values_list("attempts", flat=True)) == {1: 10, 2: 20}
    assert killed not in faults.worker.pool_pids()
    assert len(faults.worker.pool_pids()) == 2  # the pool replaced the dead process


def test_kill_after_the_server_accepted_is_the_one_window_for_a_copy(
    faults: Faults, chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-to-30")
    faults.smtp.handler.hold_reply = 11  # message 11 accepted; its sender never hears so
    Chat.objects.create(title="Reading club", admin=chat_admin)

    kill_the_sender(faults)
    sweep_until(
        faults.worker, lambda: Delivery.objects.count() == 30 and settled(), 40, "all 30 settled"
    )
    tally = email_tally(faults.smtp)
    # Documented in docs/reliability.md: SMTP cannot tell a sender that a message it never
    # confirmed arrived, so that message is sent again, with the same Message-ID.
    assert tally.counts == (30, 0, 1, 0)
    [(copied, copies)] = [
        item for item in Counter(m.message_id for m in faults.smtp.messages).items()
        if item[1] > 1
    ]  # fmt: skip
    assert copies == 2
    assert Delivery.objects.get(message_id=copied).target == KILL_RECIPIENTS[10]


@pytest.fixture
def three_connections(faults: Faults) -> Iterator[None]:
    """The worker restarted with NOTIFY_TASKS_EMAIL_CONNECTIONS = 3 (the default; the fault
    worker pins 1), and back to 1 after."""
    worker, default = faults.worker, dict(faults.worker.env)
    worker.stop()
    worker.env = {**default, "FAULTS_EMAIL_CONNECTIONS": "3"}
    worker.start()
    yield
    worker.stop()
    worker.env = default
    worker.start()


def test_with_three_connections_a_kill_resends_at_most_one_message_per_connection(
    faults: Faults, chat_admin: Any, three_connections: None
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-to-30")
    faults.smtp.handler.hold_reply = 11  # accepted on one connection; its sender never hears
    before = faults.smtp.handler.connections
    Chat.objects.create(title="Reading club", admin=chat_admin)

    wait_for(faults.smtp.handler.held.is_set, message="the SMTP server holding a sender")
    wait_for(lambda: faults.smtp.handler.connections - before == 3, message="3 connections")
    kill_the_sender(faults)
    sweep_until(
        faults.worker, lambda: Delivery.objects.count() == 30 and settled(), 40, "all 30 settled"
    )
    sent, failed, duplicated, lost = email_tally(faults.smtp).counts
    assert (sent, failed, lost) == (30, 0, 0)
    # The held message, and at most one more per other connection that the server had
    # accepted and the run had not recorded yet when it died (docs/reliability.md).
    assert 1 <= duplicated <= 3
