"""Claiming a batch of notifications on PostgreSQL: a run never waits for rows another run
is claiming, so two runs cannot deadlock on each other's own rows.

PostgreSQL only, collected in the PostgreSQL pass of the fault suite (tests/faults/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from django_notify_tasks.models import Notification
from django_notify_tasks.notification_claims import claim_pending

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_run() -> Iterator[Any]:
    """A second connection, as another worker's claim transaction would hold one."""
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        yield other
        other.rollback()


def pending(count: int) -> list[int]:
    rows = [
        Notification(rule="r", event="created", model="testapp.chat", object_pk=str(n))
        for n in range(count)
    ]
    return [row.pk for row in Notification.objects.bulk_create(rows)]


def test_a_run_whose_own_row_another_run_is_claiming_takes_the_others_without_waiting(
    other_run: Any,
) -> None:
    own, *others = pending(4)
    # Another run is in the middle of its claim and has chosen (locked) this task's own row.
    other_run.execute(
        f"SELECT id FROM {Notification._meta.db_table} WHERE id = %s FOR UPDATE", [own]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")  # waiting would fail here, not hang
    try:
        token, batch = claim_pending(own, "default", 50)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert [row.pk for row in batch] == others  # its own row is left to the run holding it
    assert Notification.objects.get(pk=own).claim_token == ""


def test_rows_another_run_has_chosen_are_skipped_not_waited_for(other_run: Any) -> None:
    own, *others = pending(5)
    table = Notification._meta.db_table
    other_run.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) FOR UPDATE", [others[:2]])
    token, batch = claim_pending(own, "default", 3)
    assert [row.pk for row in batch] == [own, *others[2:4]]
