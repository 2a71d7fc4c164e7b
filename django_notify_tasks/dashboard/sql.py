"""Two expressions Django has no portable form of, written per database.

``TimeBucket``: a UTC timestamp cut to the hour or the day, as text (``2026-12-04 17``),
computed by the database's own string functions: Django's ``Trunc`` on SQLite calls a
Python function for every row, which costs more than the rest of the query.
``SecondsBetween``: the seconds from one timestamp to another, as a float.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Expression, FloatField, Func
from django.db.models.sql.compiler import SQLCompiler

HOUR, DAY = "hour", "day"
# Characters of SQLite's stored text ("2026-12-04 17:35:00.123456") that make the bucket.
SQLITE_PREFIX = {HOUR: 13, DAY: 10}
PATTERN = {HOUR: "YYYY-MM-DD HH24", DAY: "YYYY-MM-DD"}
# Written through two % formats: Func's template, then the driver's parameters.
MYSQL_PATTERN = {HOUR: "%%%%Y-%%%%m-%%%%d %%%%H", DAY: "%%%%Y-%%%%m-%%%%d"}

Compiled = tuple[str, Any]


class TimeBucket(Func):
    """The hour (``YYYY-MM-DD HH``) or day (``YYYY-MM-DD``) of a timestamp, in UTC."""

    output_field = CharField()

    def __init__(self, expression: Any, unit: str) -> None:
        if unit not in SQLITE_PREFIX:
            raise ValueError(f"unit should be {HOUR!r} or {DAY!r}, not {unit!r}")
        super().__init__(expression)
        self.unit = unit

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        pattern = PATTERN[self.unit]
        return super().as_sql(
            compiler, connection, template=f"TO_CHAR(%(expressions)s, '{pattern}')"
        )

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        # Django stores aware datetimes on SQLite as UTC text: the bucket is a prefix.
        length = SQLITE_PREFIX[self.unit]
        return super().as_sql(
            compiler, connection, template=f"SUBSTR(%(expressions)s, 1, {length})"
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        pattern = PATTERN[self.unit]
        template = f"TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', '{pattern}')"
        return super().as_sql(compiler, connection, template=template)

    def as_mysql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        template = f"DATE_FORMAT(%(expressions)s, '{MYSQL_PATTERN[self.unit]}')"
        return super().as_sql(compiler, connection, template=template)


class SecondsBetween(Func):
    """``end - start`` in seconds, a float, without Django's per-row Python function on
    SQLite."""

    output_field = FloatField()
    arity = 2

    def __init__(self, start: Expression | str, end: Expression | str) -> None:
        super().__init__(start, end)

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        template = "TIMESTAMPDIFF(MICROSECOND, %(expressions)s) / 1000000.0"
        return super().as_sql(compiler, connection, template=template)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        start, end = self.get_source_expressions()
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        sql = f"((JULIANDAY({end_sql}) - JULIANDAY({start_sql})) * 86400.0)"
        return sql, (*end_params, *start_params)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Compiled:
        start, end = self.get_source_expressions()
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        sql = f"EXTRACT(EPOCH FROM ({end_sql} - {start_sql}))::double precision"
        return sql, (*end_params, *start_params)
