"""Write outbox rows on the request path: one INSERT that never breaks the host's transaction.

In the host's transaction the INSERT runs in a savepoint, so that a failed INSERT leaves the
transaction usable (PostgreSQL refuses every statement after an error until a rollback). On
PostgreSQL through psycopg 3 with client-side binding, Django's default, ``SAVEPOINT``, the
``INSERT ... RETURNING`` and ``RELEASE SAVEPOINT`` go to the server as one query: one round
trip instead of three. In autocommit the INSERT is a transaction of its own and needs neither
a savepoint nor the ``BEGIN`` and ``COMMIT`` of ``atomic()``.

With ``NOTIFY_TASKS_DISPATCH = "relay"`` on PostgreSQL a ``NOTIFY`` goes with the INSERT, in
the same query where it can: the server delivers it at commit, and it wakes the relay.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Any, cast

from django.db import DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLInsertCompiler

from django_notify_tasks.conf import app_settings
from django_notify_tasks.models import Notification

logger = logging.getLogger(__name__)

SAVEPOINT = "notify_tasks_outbox"
WAKE_RELAY = "NOTIFY notify_tasks_outbox"  # the channel relay.py listens on


def insert_rows(rows: list[Notification], using: str) -> None:
    """INSERT ``rows``, in one statement when it takes them all, and set their ids; on failure
    the host's transaction is left as it was and the error raised for the caller to log."""
    connection = connections[using]
    fields = _insert_fields()
    wake = _wakes_relay(connection)
    if not connection.features.can_return_rows_from_bulk_insert:  # MySQL: no RETURNING
        with transaction.atomic(using=using):
            for row in rows:
                row.save(using=using)
    elif len(rows) > 1 and len(rows) > connection.ops.bulk_batch_size(fields, rows):
        # More rows than one statement takes (SQLite's parameter limit): bulk_create batches
        # them, and the savepoint keeps the batches together.
        with transaction.atomic(using=using):
            Notification.objects.using(using).bulk_create(rows)
    elif connection.get_autocommit():
        insert, params = _insert_statement(rows, fields, connection)
        together = wake and _sends_several_statements(connection)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(f"{insert}; {WAKE_RELAY}" if together else insert, params)
            returned = cursor.fetchall()
        _set_returned(rows, _converted(connection, returned), using)
        wake = wake and not together
    elif _sends_several_statements(connection):
        _insert_in_one_round_trip(rows, fields, connection, using, wake)
        wake = False
    else:
        _insert_in_savepoint(rows, fields, connection, using)
    if wake:  # a round trip of its own, where the NOTIFY could not go with the INSERT
        with connection.cursor() as cursor:
            cursor.execute(WAKE_RELAY)


def _wakes_relay(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql" and app_settings.dispatch == "relay"


def _insert_in_savepoint(
    rows: list[Notification],
    fields: list[models.Field[Any, Any]],
    connection: BaseDatabaseWrapper,
    using: str,
) -> None:
    """What ``atomic()`` around the INSERT does, as three plain statements (on SQLite, in the
    same process, they cost next to nothing; atomic() and bulk_create() cost more than the
    INSERT itself)."""
    insert, params = _insert_statement(rows, fields, connection)
    name = connection.ops.quote_name(SAVEPOINT)
    with connection.cursor() as cursor:
        cursor.execute(f"SAVEPOINT {name}")
        try:
            cursor.execute(insert, params)
            returned = cursor.fetchall()
        except Exception:
            _roll_back_to(connection, name)
            raise
        cursor.execute(f"RELEASE SAVEPOINT {name}")
    _set_returned(rows, _converted(connection, returned), using)


def _insert_in_one_round_trip(
    rows: list[Notification],
    fields: list[models.Field[Any, Any]],
    connection: BaseDatabaseWrapper,
    using: str,
    wake: bool,
) -> None:
    insert, params = _insert_statement(rows, fields, connection)
    name = connection.ops.quote_name(SAVEPOINT)
    statements = f"SAVEPOINT {name}; {insert}; RELEASE SAVEPOINT {name}"
    with connection.cursor() as cursor:
        try:
            cursor.execute(f"{statements}; {WAKE_RELAY}" if wake else statements, params)
        except Exception:
            _undo_failed_insert(connection, name)
            raise
        cursor.nextset()  # from the SAVEPOINT's result to the INSERT's
        returned = cursor.fetchall()
    _set_returned(rows, _converted(connection, returned), using)


def _undo_failed_insert(connection: BaseDatabaseWrapper, name: str) -> None:
    """Roll back to the savepoint, if the server got as far as an error after it."""
    from psycopg.pq import TransactionStatus

    if connection.connection.info.transaction_status != TransactionStatus.INERROR:
        return  # the error came before the server ran anything, e.g. adapting a value
    _roll_back_to(connection, name)


def _roll_back_to(connection: BaseDatabaseWrapper, name: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
            cursor.execute(f"RELEASE SAVEPOINT {name}")
    except DatabaseError:
        # What atomic() does when a rollback to its savepoint fails: the transaction cannot
        # go on, so the host's atomic() rolls it back instead of failing on its next query.
        connection.needs_rollback = True
        logger.exception("django-notify-tasks could not roll back to its savepoint.")


def _sends_several_statements(connection: BaseDatabaseWrapper) -> bool:
    """psycopg 3's client-side binding merges the parameters into the query and sends it as
    a simple query, which may hold several statements, and keeps each one's result. Server-
    side binding (``OPTIONS["server_side_binding"]``), pipeline mode and psycopg2 cannot."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if not is_psycopg3:
        return False
    import psycopg

    raw = connection.connection
    if raw.info.pipeline_status != psycopg.pq.PipelineStatus.OFF:
        return False
    return issubclass(raw.cursor_factory, psycopg.ClientCursor)


def _insert_statement(
    rows: list[Notification], fields: list[models.Field[Any, Any]], connection: BaseDatabaseWrapper
) -> tuple[str, Sequence[Any]]:
    """bulk_create's ``INSERT ... RETURNING`` and its parameters: the columns, pre_save()
    values (``created_at``) and defaults. One row, the common case, takes SQL built once per
    database: building it each time cost more than running it (docs/benchmarks.md)."""
    if len(rows) == 1:
        [row] = rows
        params = [_prepared(field, row, connection) for field in fields]
        table = Notification._meta.db_table
        return _one_row_insert(connection.alias, connection.vendor, table), params
    [(insert, many)] = _compiler(rows, fields, connection).as_sql()
    return insert, many


def _prepared(field: models.Field[Any, Any], row: Notification, connection: Any) -> Any:
    """What SQLInsertCompiler passes for a plain value: pre_save(), then get_db_prep_save()."""
    return field.get_db_prep_save(field.pre_save(row, True), connection)


@lru_cache(maxsize=8)
def _one_row_insert(using: str, vendor: str, table: str) -> str:
    # Django's own SQL, for a row of defaults: only the parameters differ from row to row.
    # vendor and table are in the key, for tests that point an alias at another database or
    # the model at another table.
    connection = connections[using]
    [(insert, _)] = _compiler([Notification()], _insert_fields(), connection).as_sql()
    return insert


def _compiler(
    rows: list[Notification], fields: list[models.Field[Any, Any]], connection: BaseDatabaseWrapper
) -> SQLInsertCompiler:
    query = InsertQuery(Notification)
    query.insert_values(fields, list[models.Model](rows))
    compiler = cast(SQLInsertCompiler, query.get_compiler(connection=connection))
    compiler.returning_fields = _returning_fields()
    return compiler


@cache
def _insert_fields() -> list[models.Field[Any, Any]]:
    """The columns bulk_create writes for rows without a primary key (fixed once apps load)."""
    return [
        field
        for field in Notification._meta.concrete_fields
        if not field.generated and not isinstance(field, models.AutoField)
    ]


def _returning_fields() -> Sequence[models.Field[Any, Any]]:
    return Notification._meta.db_returning_fields


def _converted(connection: BaseDatabaseWrapper, returned: list[Any]) -> Iterable[Sequence[Any]]:
    compiler = InsertQuery(Notification).get_compiler(connection=connection)
    table = Notification._meta.db_table
    converters = compiler.get_converters([f.get_col(table) for f in _returning_fields()])
    return compiler.apply_converters(returned, converters) if converters else returned


def _set_returned(rows: list[Notification], returned: Iterable[Sequence[Any]], using: str) -> None:
    """What bulk_create does with the RETURNING values: ids set, rows marked saved."""
    for row, values in zip(rows, returned, strict=True):
        for field, value in zip(_returning_fields(), values, strict=True):
            setattr(row, field.attname, value)
        row._state.adding = False
        row._state.db = using
