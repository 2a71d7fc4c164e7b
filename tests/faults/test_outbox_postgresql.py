"""The outbox write on PostgreSQL: one round trip in the host's transaction, and an INSERT that
fails without breaking it.

PostgreSQL only: tests/faults/conftest.py collects this file when NOTIFY_TASKS_TEST_DB is
``postgresql``. It sits in the fault suite because that suite's second pass is the run on
PostgreSQL that ``make test-faults`` (and so CI) makes. No worker, no broker: the ids that
would be enqueued are collected instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DatabaseError, DataError, connection, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.test.utils import CaptureQueriesContext

from django_notify_tasks import notify, notify_bulk
from django_notify_tasks.models import Notification
from tests.conftest import make_user
from tests.test_outbox import written_like_bulk_create
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

RULE = {
    "model": "testapp.Chat",
    "on": ["created"],
    "email": {"to": ["admin.email"], "subject": "{{ instance.title }}", "body": "b"},
}
SAVEPOINT = '"notify_tasks_outbox"'
TABLE = "django_notify_tasks_notification"


@pytest.fixture
def chat_rule(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = {"chat-created": RULE}


@contextmanager
def sent(refuse: str = "") -> Iterator[list[str]]:
    """The SQL sent on the connection in the block, BEGIN and COMMIT included: one round trip
    each. Statements that start with ``refuse`` (if given) fail as if the server refused them.
    """
    statements: list[str] = []

    def refuse_some(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if refuse and sql.startswith(refuse):
            raise DatabaseError(f"refused for the test: {sql}")
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(refuse_some):
        yield statements
    statements.extend(query["sql"] for query in captured.captured_queries)


def test_outbox_write_is_one_round_trip_in_the_hosts_transaction(
    chat_rule: None, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    with sent() as statements, transaction.atomic():
        chat = Chat.objects.create(title="One trip", admin=chat_admin)
    # Before: SAVEPOINT, INSERT and RELEASE SAVEPOINT, three round trips where ours is one.
    begin, host, ours, commit = statements
    assert (begin, commit) == ("BEGIN", "COMMIT")
    assert host.startswith('INSERT INTO "testapp_chat"')
    assert ours.startswith(f'SAVEPOINT {SAVEPOINT}; INSERT INTO "{TABLE}"')
    assert ours.endswith(f'RETURNING "{TABLE}"."id"; RELEASE SAVEPOINT {SAVEPOINT}')
    notification = Notification.objects.get()
    assert (notification.rule, notification.object_pk) == ("chat-created", str(chat.pk))
    assert notification.snapshot["title"] == "One trip"
    assert enqueued == [[notification.pk]]


def test_relay_mode_sends_the_notify_with_the_insert_and_enqueues_nothing(
    settings: Any, chat_rule: None, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_DISPATCH = "relay"
    with sent() as statements, transaction.atomic():
        Chat.objects.create(title="Relayed", admin=chat_admin)
    begin, host, ours, commit = statements
    assert ours.startswith(f'SAVEPOINT {SAVEPOINT}; INSERT INTO "{TABLE}"')
    assert ours.endswith(f"RELEASE SAVEPOINT {SAVEPOINT}; NOTIFY notify_tasks_outbox")
    with sent() as statements:  # autocommit: the INSERT and the NOTIFY, one round trip
        Chat.objects.create(title="Relayed alone", admin=chat_admin)
    host, ours = statements
    assert ours.startswith(f'INSERT INTO "{TABLE}"')
    assert ours.endswith('"id"; NOTIFY notify_tasks_outbox')
    assert Notification.objects.count() == 2
    assert enqueued == []


def test_several_matching_rules_are_one_statement_and_each_row_gets_its_own_id(
    settings: Any, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = dict.fromkeys(("first", "second", "third"), RULE)
    with sent() as statements, transaction.atomic():
        Chat.objects.create(title="Three rules", admin=chat_admin)
    assert len(statements) == 4  # BEGIN, the host's INSERT, ours, COMMIT
    stored = list(Notification.objects.order_by("pk").values_list("pk", "rule"))
    assert [rule for _, rule in stored] == ["first", "second", "third"]
    assert enqueued == [[pk for pk, _ in stored]]
    chats = [Chat.objects.create(title=f"bulk {n}", admin=chat_admin) for n in range(3)]
    with transaction.atomic():
        ids = notify_bulk("second", chats)
    objects = Notification.objects.in_bulk(ids)
    assert [objects[pk].object_pk for pk in ids] == [str(chat.pk) for chat in chats]


def test_a_failing_outbox_insert_leaves_the_hosts_transaction_usable(
    monkeypatch: Any, chat_rule: None, chat_admin: Any, enqueued: list[list[int]], caplog: Any
) -> None:
    # As if migrations were not applied: PostgreSQL refuses the INSERT, after the SAVEPOINT.
    monkeypatch.setattr(Notification._meta, "db_table", "no_such_table")
    with transaction.atomic():
        Chat.objects.create(title="saved", admin=chat_admin)
        assert not transaction.get_rollback()
        make_user("bob")  # would raise InFailedSqlTransaction without the rollback
    assert Chat.objects.filter(title="saved").exists()
    assert Chat.objects.get().admin.username == "alice"
    assert "django-notify-tasks could not record created of <Chat: saved>" in caplog.text
    assert 'relation "no_such_table" does not exist' in caplog.text
    assert enqueued == []


def test_a_value_the_server_refuses_rolls_back_to_the_savepoint_and_later_rows_go_in(
    chat_rule: None, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    with transaction.atomic():
        first = Chat.objects.create(title="before", admin=chat_admin)
        too_long = Chat(pk=int("9" * 70), title="x", admin=chat_admin)  # object_pk holds 64
        with pytest.raises(DataError, match="value too long"):
            notify("chat-created", too_long)
        last = Chat.objects.create(title="after", admin=chat_admin)
    recorded = Notification.objects.order_by("pk").values_list("object_pk", flat=True)
    assert list(recorded) == [str(first.pk), str(last.pk)]
    assert len(enqueued) == 2


def test_a_value_refused_before_sending_needs_no_rollback(
    chat_rule: None, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    # psycopg refuses a NUL character while merging the parameters: the server ran nothing,
    # there is no savepoint, and a ROLLBACK TO it would break the transaction.
    with transaction.atomic():
        with pytest.raises(DataError, match="NUL"):
            notify("chat-created", Chat(pk=1, title="x"), related=Chat(pk="1\x00"))
        Chat.objects.create(title="after", admin=chat_admin)
    assert Notification.objects.get().object_pk == str(Chat.objects.get().pk)


def test_a_refused_rollback_marks_the_transaction_for_rollback_as_atomic_does(
    monkeypatch: Any, chat_rule: None, chat_admin: Any, enqueued: list[list[int]], caplog: Any
) -> None:
    monkeypatch.setattr(Notification._meta, "db_table", "no_such_table")
    with sent(refuse="ROLLBACK TO"), transaction.atomic():
        Chat.objects.create(title="lost", admin=chat_admin)  # save() itself does not raise
        assert transaction.get_rollback()
    assert not Chat.objects.exists()  # the host's atomic() rolled back instead of failing
    assert "could not roll back to its savepoint" in caplog.text


@pytest.mark.parametrize(
    "cursor_factory",
    [ServerBindingCursor, None],
    ids=["server-side binding", "pipeline mode"],
)
def test_without_client_side_binding_the_savepoint_takes_three_round_trips(
    monkeypatch: Any,
    chat_rule: None,
    chat_admin: Any,
    enqueued: list[list[int]],
    cursor_factory: Any,
) -> None:
    connection.ensure_connection()
    raw = connection.connection
    with sent() as statements, transaction.atomic():
        if cursor_factory is None:  # several statements in one query are refused there
            with raw.pipeline():
                chat = Chat.objects.create(title="three trips", admin=chat_admin)
        else:  # what OPTIONS["server_side_binding"] = True gives (Django's base.py)
            monkeypatch.setattr(raw, "cursor_factory", cursor_factory)
            chat = Chat.objects.create(title="three trips", admin=chat_admin)
    savepoint, insert, release = statements[2:5]
    assert savepoint.startswith("SAVEPOINT") and release.startswith("RELEASE SAVEPOINT")
    assert insert.startswith(f'INSERT INTO "{TABLE}"')
    assert Notification.objects.get(pk=enqueued[0][0]).object_pk == str(chat.pk)


def test_in_autocommit_the_insert_is_sent_alone(
    chat_rule: None, chat_admin: Any, enqueued: list[list[int]]
) -> None:
    # No transaction to protect, so no savepoint; and no BEGIN and COMMIT of atomic() either.
    with sent() as statements:
        chat = Chat.objects.create(title="autocommit", admin=chat_admin)
    host, ours = statements  # before: BEGIN, INSERT, COMMIT for ours
    assert ours.startswith(f'INSERT INTO "{TABLE}"')
    assert enqueued == [[Notification.objects.get(object_pk=str(chat.pk)).pk]]


@pytest.mark.parametrize("in_transaction", [True, False], ids=["in a transaction", "autocommit"])
def test_one_row_is_stored_as_bulk_create_stores_it(in_transaction: bool) -> None:
    ours, theirs = written_like_bulk_create(in_transaction)  # JSON as jsonb, times as timestamptz
    assert ours == theirs
