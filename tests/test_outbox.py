"""The outbox INSERT on any database: one statement, in a savepoint only when there is a
transaction to protect, and in batches when one statement cannot take all the rows.

The PostgreSQL round trips have their own tests, in tests/faults/test_outbox_postgresql.py.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytest
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_notify_tasks import notify_bulk, outbox
from django_notify_tasks.models import Notification
from tests.testapp.models import Chat

TABLE = Notification._meta.db_table
RULE = {
    "model": "testapp.Chat",
    "on": ["created"],
    "email": {"to": ["admin.email"], "subject": "s", "body": "b"},
}


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_the_outbox_insert_is_one_statement(
    settings: Any, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"chat-created": RULE}
    with CaptureQueriesContext(connection) as queries:
        chat = Chat.objects.create(title="autocommit", admin=chat_admin)
    # Before: BEGIN, the INSERT and COMMIT of atomic() around a statement that is atomic.
    host, ours = (query["sql"] for query in queries.captured_queries)
    assert ours.startswith(f"INSERT INTO {connection.ops.quote_name(TABLE)}")
    notification = Notification.objects.get()
    assert notification.object_pk == str(chat.pk)
    assert notification.created_at is not None
    assert enqueued == [[notification.pk]]


@pytest.mark.django_db(transaction=True)  # in a transaction, atomic() and bulk_create batch
def test_more_rows_than_one_statement_takes_go_in_batches_and_each_gets_its_id(
    settings: Any, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"chat-created": RULE}
    chats = [Chat(pk=number, title=f"chat {number}", admin=chat_admin) for number in range(200)]
    fields = [f for f in Notification._meta.concrete_fields if not isinstance(f, models.AutoField)]
    batches = math.ceil(len(chats) / connection.ops.bulk_batch_size(fields, chats))
    with CaptureQueriesContext(connection) as queries:
        ids = notify_bulk("chat-created", chats)
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if f"INSERT INTO {connection.ops.quote_name(TABLE)}" in q["sql"]
    ]
    assert len(inserts) == batches  # several on SQLite (999 parameters a statement), 1 on PG
    stored = Notification.objects.in_bulk(ids)
    assert [stored[pk].object_pk for pk in ids] == [str(chat.pk) for chat in chats]


def written_like_bulk_create(in_transaction: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """One row through insert_rows() (SQL built once, parameters prepared field by field) and
    the same row through bulk_create(): every column as stored."""
    snapshot = {"title": "Zoë", "tags": ["a", "b"], "when": timezone.now(), "n": None}

    def row() -> Notification:
        return Notification(
            rule="r", event="updated", model="testapp.chat", object_pk="7",
            related_model="auth.user", related_pk="3", snapshot=snapshot,
        )  # fmt: skip

    ours, theirs = row(), row()
    with transaction.atomic() if in_transaction else contextlib.nullcontext():
        outbox.insert_rows([ours], "default")
        Notification.objects.bulk_create([theirs])
    assert ours.pk is not None and not ours._state.adding and ours._state.db == "default"

    def stored(pk: int) -> dict[str, Any]:
        values = Notification.objects.values().get(pk=pk)
        return {name: value for name, value in values.items() if name not in {"id", "created_at"}}

    assert ours.created_at <= theirs.created_at  # pre_save() set it, as bulk_create does
    assert Notification.objects.get(pk=ours.pk).created_at == ours.created_at
    return stored(ours.pk), stored(theirs.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [True, False], ids=["in a transaction", "autocommit"])
def test_one_row_is_stored_as_bulk_create_stores_it(in_transaction: bool) -> None:
    ours, theirs = written_like_bulk_create(in_transaction)
    assert ours == theirs
    assert ours["snapshot"]["title"] == "Zoë" and ours["status"] == "pending"


@pytest.mark.django_db(transaction=True)
def test_in_a_transaction_the_insert_sits_in_its_own_savepoint(
    settings: Any, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"chat-created": RULE}
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        Chat.objects.create(title="in a transaction", admin=chat_admin)
    sent = [query["sql"].split()[0] for query in queries.captured_queries]
    # SQLite is in-process: three statements cost less than atomic() around one.
    assert sent == ["BEGIN", "INSERT", "SAVEPOINT", "INSERT", "RELEASE", "COMMIT"]
    assert Notification.objects.get().pk == enqueued[0][0]


@pytest.mark.django_db(transaction=True)
def test_where_inserts_return_no_ids_as_on_mysql_each_row_is_its_own_insert(
    settings: Any, chat_admin: Any, enqueued: list[list[int]], monkeypatch: Any
) -> None:
    # MySQL (unlike MariaDB 10.5+) has no INSERT ... RETURNING: Django then says so here.
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    settings.NOTIFY_TASKS_RULES = {"chat-created": RULE}
    chats = Chat.objects.bulk_create(
        [Chat(pk=number, title=f"chat {number}", admin=chat_admin) for number in range(1, 4)]
    )
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        ids = notify_bulk("chat-created", chats)
        chat_admin.save()  # the host's transaction goes on
    table = connection.ops.quote_name(TABLE)
    inserts = [q["sql"] for q in queries.captured_queries if f"INSERT INTO {table}" in q["sql"]]
    assert len(inserts) == 3
    stored = Notification.objects.in_bulk(ids)
    assert [stored[pk].object_pk for pk in ids] == ["1", "2", "3"]
    assert enqueued == [ids]
