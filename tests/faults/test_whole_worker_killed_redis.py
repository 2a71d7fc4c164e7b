"""The whole worker (main process and pool) SIGKILLed in a batch: Redis only.

Redis, unlike RabbitMQ, cannot tell that a consumer died: it hands an unacknowledged message
out again once it is older than the transport's ``visibility_timeout``. RabbitMQ requeues at
once when the connection closes (test_whole_worker_killed_rabbitmq.py). tests/faults/conftest.py
collects this file only with NOTIFY_TASKS_TEST_BROKER=redis.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from django_notify_tasks.models import Delivery
from tests.faults.config import rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, settled
from tests.support.services import wait_for
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def test_whole_worker_killed_the_broker_redelivers_after_the_visibility_timeout(
    faults: Faults, chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-to-30")
    faults.smtp.handler.hold_mail = 11
    Chat.objects.create(title="Reading club", admin=chat_admin)
    wait_for(faults.smtp.handler.held.is_set, message="the SMTP server holding a sender")

    faults.worker.kill()  # main process and pool: no one is left to requeue the message
    faults.smtp.handler.release.set()
    faults.worker.start()
    # No sweeper here: Redis hands the unacknowledged message out again once it is older
    # than visibility_timeout (10 s in these tests), and by then the dead claims are stale.
    faults.worker.wait_until(
        lambda: Delivery.objects.count() == 30 and settled(), 40, "redelivery"
    )
    tally = email_tally(faults.smtp)
    assert tally.counts == (30, 0, 0, 0)
    assert Counter(Delivery.objects.values_list("attempts", flat=True)) == {1: 10, 2: 20}
