"""Claiming a batch of notifications where the database has ``SKIP LOCKED`` (PostgreSQL,
MariaDB): a run never waits for the rows another run is claiming, and takes every other
row; two runs cannot deadlock on each other's own rows.

Collected in the PostgreSQL and MariaDB passes of the fault suite (tests/faults/conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction

from django_notify_tasks.models import Notification
from django_notify_tasks.notification_claims import claim_pending

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
WAIT = 30  # seconds; the other run is a thread of this process
# A lock wait fails after a second instead of hanging (PostgreSQL waits forever by default).
NO_WAITING = {
    "postgresql": ("SET lock_timeout = '1s'", "RESET lock_timeout"),
    "mysql": ("SET SESSION innodb_lock_wait_timeout = 1",
              "SET SESSION innodb_lock_wait_timeout = DEFAULT"),
}  # fmt: skip


class OtherRun:
    """Another worker's run in the middle of its claim: ``claim_pending`` inside a transaction
    that stays open (its locks held) until the test lets it finish."""

    def __init__(self, notification_id: int, limit: int) -> None:
        self.claimed: list[int] = []
        self._chose = threading.Event()
        self._finish = threading.Event()
        self._notification_id = notification_id
        self._limit = limit
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> OtherRun:
        self._thread.start()
        assert self._chose.wait(WAIT), "the other run did not claim in time"
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish.set()
        self._thread.join(WAIT)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                _token, batch = claim_pending(self._notification_id, "default", self._limit)
                self.claimed = [row.pk for row in batch]
                self._chose.set()
                self._finish.wait(WAIT)
                transaction.set_rollback(True)
        finally:
            self._chose.set()
            connections.close_all()


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    start, end = NO_WAITING[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(start)
    yield
    with connection.cursor() as cursor:
        cursor.execute(end)


def pending(count: int) -> list[int]:
    rows = [
        Notification(rule="r", event="created", model="testapp.chat", object_pk=str(n))
        for n in range(count)
    ]
    return [row.pk for row in Notification.objects.bulk_create(rows)]


def test_the_database_has_skip_locked() -> None:
    assert connection.features.has_select_for_update_skip_locked
    if connection.vendor == "mysql":
        assert connection.mysql_is_mariadb and connection.mysql_version >= (10, 6)


def test_a_run_whose_own_row_another_run_is_claiming_takes_the_others_without_waiting() -> None:
    own, *others = pending(4)
    with OtherRun(own, 1) as other:
        _token, batch = claim_pending(own, "default", 50)
    assert other.claimed == [own]
    assert [row.pk for row in batch] == others  # its own row is left to the run holding it


def test_rows_another_run_is_claiming_are_skipped_and_the_rest_taken() -> None:
    """MariaDB locks every row a query reads before it sorts: when the claim sorted its own
    row first, one run's claim locked all pending rows and another run found none."""
    *others, own = pending(6)
    with OtherRun(others[0], 2) as other:
        _token, batch = claim_pending(own, "default", 3)
    assert other.claimed == others[:2]
    assert [row.pk for row in batch] == [own, *others[2:4]]


def test_a_run_whose_rows_another_run_holds_all_takes_none_at_once() -> None:
    first, second, *rest = pending(5)
    with OtherRun(first, 5) as other:
        _token, batch = claim_pending(second, "default", 5)
    assert other.claimed == [first, second, *rest]
    assert batch == []  # nothing left to take, and no lock wait (it would fail in 1 s)
