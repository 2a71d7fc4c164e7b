"""The whole worker (main process and pool) SIGKILLed in a batch: RabbitMQ only.

RabbitMQ requeues a consumer's unacknowledged messages as soon as its connection closes, which
the kernel does for a killed process; Redis has no connection to watch and waits for the
``visibility_timeout`` instead (test_whole_worker_killed_redis.py). tests/faults/conftest.py
collects this file only with NOTIFY_TASKS_TEST_BROKER=rabbitmq.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from django_notify_tasks.models import Delivery
from tests.faults.config import QUEUE, rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, settled, sweep_until
from tests.support.services import wait_for
from tests.support.workers import queue_length
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def waiting_messages(faults: Faults) -> int:
    with faults.worker.app.connection_for_write() as conn:
        return queue_length(conn, QUEUE)


def test_whole_worker_killed_rabbitmq_requeues_at_once_nothing_lost_nothing_twice(
    faults: Faults, chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-to-30")
    faults.smtp.handler.hold_mail = 11
    Chat.objects.create(title="Reading club", admin=chat_admin)
    wait_for(faults.smtp.handler.held.is_set, message="the SMTP server holding a sender")
    assert waiting_messages(faults) == 0  # the worker holds it, unacknowledged

    faults.worker.kill()  # main process and pool: no one is left to requeue the message
    wait_for(lambda: waiting_messages(faults) == 1, message="RabbitMQ requeuing the message")
    faults.smtp.handler.release.set()
    faults.worker.start()
    # The restarted worker runs the requeued message at once; the 20 rows the dead run had
    # claimed are claimable after NOTIFY_TASKS_TIME_LIMIT, by that run or by the sweeper.
    sweep_until(
        faults.worker, lambda: Delivery.objects.count() == 30 and settled(), 40, "all 30 settled"
    )
    tally = email_tally(faults.smtp)
    assert tally.counts == (30, 0, 0, 0)
    assert tally.unknown == 0
    assert Counter(Delivery.objects.values_list("attempts", flat=True)) == {1: 10, 2: 20}
