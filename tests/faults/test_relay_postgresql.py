"""PostgreSQL: the relay's connection is cut (a restart, a failover, a killed backend); the
relay reconnects, takes the advisory lock again and hands over what was saved meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from django_notify_tasks.relay_leases import ADVISORY_LOCK_KEY
from tests.faults import config
from tests.faults.conftest import Faults
from tests.faults.harness import actives, delivered, email_tally
from tests.support.workers import CeleryWorker
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def relay_backends() -> list[int]:
    """The server processes holding the relay's advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
            [ADVISORY_LOCK_KEY],
        )
        return [pid for (pid,) in cursor.fetchall()]


def test_relay_reconnects_after_its_connection_is_cut(
    faults: Faults, relay_workers: Callable[[], CeleryWorker], chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = config.rules("chat-created")
    worker = relay_workers()
    [backend] = worker.wait_until(relay_backends, 30, "the relay holding the lock")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    for number in range(10):
        Chat.objects.create(title=f"cut {number}", admin=chat_admin)

    worker.wait_until(delivered(10), 60, "10 delivered by the relay")
    assert email_tally(faults.smtp).counts == (10, 0, 0, 0)
    log = worker.log(lines=100_000)
    assert "The outbox relay of database 'default' failed" in log
    assert actives(worker) == [2]  # active, cut off, active again
    assert relay_backends() not in ([], [backend])
