"""Percentiles of the time from event to delivery, from a histogram the database counts.

The database puts each sent delivery's delay in one of a fixed set of buckets (finer for
short delays, coarser for long ones) and returns a count per rule, channel and bucket:
at most ``BUCKETS`` rows a group, whatever the number of deliveries, with no sort of the
rows and no percentile function (SQLite has none). A percentile is then read off the
cumulative counts: the upper edge of the bucket holding the rank-th delay (nearest rank),
so a figure is never below the truth and at most one bucket step above it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Expression, F, IntegerField, Value, When
from django.db.models import Func as DbFunc
from django.db.models.sql.compiler import SQLCompiler

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Tier:
    """Delays in ``[start, end)`` go in buckets ``step`` seconds wide."""

    start: float
    end: float
    step: float

    @property
    def buckets(self) -> int:
        return round((self.end - self.start) / self.step)


TIERS = (
    Tier(0, 1, 0.05),
    Tier(1, 10, 0.25),
    Tier(10, 60, 1),
    Tier(60, 600, 10),
    Tier(600, 3600, 60),
    Tier(3600, 86400, 900),
)
OVERFLOW = sum(tier.buckets for tier in TIERS)  # a day or more: one bucket, no upper edge
BUCKETS = OVERFLOW + 1


class WholePart(DbFunc):
    """The integer part of a non-negative number: a truncating cast (PostgreSQL's rounds)."""

    output_field = IntegerField()

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        return super().as_sql(compiler, connection, template="FLOOR(%(expressions)s)")

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)")

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        return super().as_sql(compiler, connection, template="FLOOR(%(expressions)s)::integer")


def bucket_of(delay: str) -> Expression:
    """The bucket number of the annotation ``delay`` (seconds), as one CASE."""
    whens = []
    first = 0
    for tier in TIERS:
        offset = (F(delay) - Value(float(tier.start))) / Value(float(tier.step))
        whens.append(When(**{f"{delay}__lt": tier.end}, then=Value(first) + WholePart(offset)))
        first += tier.buckets
    return Case(*whens, default=Value(OVERFLOW), output_field=IntegerField())


def upper_edge(bucket: int) -> float:
    """The end of a bucket's delays, in seconds; infinity for the overflow bucket."""
    bucket = max(bucket, 0)  # a negative delay (clocks apart) counts as the shortest
    for tier in TIERS:
        if bucket < tier.buckets:
            return round(tier.start + (bucket + 1) * tier.step, 3)
        bucket -= tier.buckets
    return math.inf


def percentiles(
    counts: Mapping[int, int], wanted: Iterable[int] = PERCENTILES
) -> dict[int, float | None]:
    """``{50: seconds, ...}`` from ``{bucket: deliveries}``; None for no deliveries."""
    total = sum(counts.values())
    found: dict[int, float | None] = {}
    for percentile in wanted:
        if not total:
            found[percentile] = None
            continue
        rank = max(1, math.ceil(percentile * total / 100))
        seen = 0
        for bucket in sorted(counts):
            seen += counts[bucket]
            if seen >= rank:
                found[percentile] = upper_edge(bucket)
                break
    return found
