"""The Delivery row as a claim: who may send it, and what happened when they did."""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from django.db import connections, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Field, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import TransientDeliveryError
from django_notify_tasks.models import Delivery


@dataclass
class Outcome:
    """What one task run did, by delivery id."""

    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    attempts_made: int = 0  # the most attempts any row to retry has had: its backoff step
    out_of_time: bool = False  # the soft time limit stopped the run: send nothing more

    def to_retry(self, delivery: Delivery, attempts: int) -> None:
        self.retry.append(delivery.pk)
        self.attempts_made = max(self.attempts_made, attempts)


def claimable() -> Q:
    """Rows a task may take: waiting ones, and ones whose sender died past the hard limit."""
    return Q(status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]) | claim_expired()


def claim_expired() -> Q:
    """Rows claimed longer ago than the hard time limit: their sender is gone."""
    return Q(status=Delivery.Status.SENDING, claimed_at__lt=claim_cutoff())


def claim_cutoff() -> ExpressionWrapper[Any]:
    """A claim stamped before this is past the hard time limit: the run holding it is gone.

    Claims are stamped and aged by the database's clock, not the worker's: a worker whose
    clock runs ahead must not take rows a live worker is still working on.
    """
    hard_limit = timedelta(seconds=app_settings.time_limit)
    return ExpressionWrapper(Now() - hard_limit, output_field=DateTimeField())


def claim(
    ids: Sequence[int], channel: str, using: str, takeable: Q | None = None
) -> list[Delivery]:
    """Atomically take the rows no one else holds; a second run of a task gets none of them."""
    token = uuid.uuid4().hex
    rows = Delivery.objects.using(using).filter(pk__in=ids, channel=channel)
    rows.filter(claimable() if takeable is None else takeable).update(
        status=Delivery.Status.SENDING,
        claim_token=token,
        claimed_at=Now(),
        attempts=F("attempts") + 1,
        updated_at=timezone.now(),
    )
    return list(
        Delivery.objects.using(using)
        .filter(claim_token=token, status=Delivery.Status.SENDING)
        .select_related("notification", "content")
        .order_by("pk")
    )


def claim_waiting(channel: str, using: str, limit: int) -> list[Delivery]:
    """Take up to ``limit`` of the oldest pending rows of ``channel``, whichever task was
    queued for them: a run with a connection open sends them on it, and their own tasks
    then find nothing to claim. Rows retrying wait for their backoff, expired claims for
    the sweeper."""
    if limit <= 0:
        return []
    pending = Q(status=Delivery.Status.PENDING)
    waiting = Delivery.objects.using(using).filter(pending, channel=channel).order_by("pk")
    ids = list(waiting.values_list("pk", flat=True)[:limit])
    return claim(ids, channel, using, takeable=pending) if ids else []


def left_unsent(notification_ids: Collection[int], using: str) -> dict[str, list[int]]:
    """The notifications' deliveries that no live run is sending and none is waiting to
    retry: what a run killed after processing them left behind, by channel."""
    rows = Delivery.objects.using(using).filter(
        Q(status=Delivery.Status.PENDING) | claim_expired(), notification_id__in=notification_ids
    )
    return ids_by_channel(rows)


def ids_by_channel(rows: QuerySet[Delivery]) -> dict[str, list[int]]:
    """The ids of ``rows``, oldest first, by channel: what the delivery tasks take."""
    found: dict[str, list[int]] = {}
    for pk, channel in rows.order_by("pk").values_list("pk", "channel"):
        found.setdefault(channel, []).append(pk)
    return found


def mark_sent(
    deliveries: Sequence[Delivery],
    outcome: Outcome,
    using: str,
    fields: Callable[[Delivery], Mapping[str, str]] | None = None,
) -> None:
    """Record success, on the rows this run still holds, in as few statements as the
    database's parameter limit allows (several connections' results at once); ``fields``:
    each row's extra values (email: its Message-ID)."""
    now = timezone.now()
    common = {"status": Delivery.Status.SENT, "sent_at": now, "updated_at": now, "error": ""}
    by_names: dict[tuple[str, ...], list[tuple[Delivery, Mapping[str, str]]]] = {}
    for delivery in deliveries:  # rows with the same extra fields share a statement
        values = fields(delivery) if fields else {}
        by_names.setdefault(tuple(sorted(values)), []).append((delivery, values))
    for names, rows in by_names.items():
        size = _rows_per_statement(using, len(common), len(names))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            _update_each_held([row for row, _ in chunk], using, common, [v for _, v in chunk])
            outcome.sent.extend(row.pk for row, _ in chunk)


def _rows_per_statement(using: str, common: int, per_row: int) -> int:
    """Up to ``MARKS_PER_STATEMENT`` rows, within the database's parameter limit (SQLite:
    999 on older builds): each row takes two for its claim and two for each of its fields."""
    limit = connections[using].features.max_query_params or 65535
    return max(1, min(MARKS_PER_STATEMENT, (limit - common) // (2 + 2 * per_row)))


def mark_error(delivery: Delivery, error: Exception, outcome: Outcome, using: str) -> None:
    """Retry a transient error while attempts remain; otherwise the delivery has failed."""
    reason = str(error)[:2000]
    if isinstance(error, TransientDeliveryError) and delivery.attempts <= app_settings.max_retries:
        _update_held(
            delivery, using, status=Delivery.Status.RETRYING, error=reason,
            updated_at=timezone.now(),
        )  # fmt: skip
        outcome.to_retry(delivery, delivery.attempts)
        return
    if isinstance(error, TransientDeliveryError):
        reason = f"gave up after {delivery.attempts} attempts: {reason}"
    _update_held(
        delivery, using, status=Delivery.Status.FAILED, error=reason, updated_at=timezone.now()
    )
    outcome.failed[delivery.pk] = reason


def release(deliveries: Sequence[Delivery], reason: str, outcome: Outcome, using: str) -> None:
    """Give claimed rows back for a later run (the task is out of time)."""
    for delivery in deliveries:
        # Still sending: a result written just before the run stopped is not taken back.
        sending = _held(delivery, using).filter(status=Delivery.Status.SENDING)
        sending.update(  # the attempt counted at claim time was not made
            status=Delivery.Status.RETRYING,
            error=reason,
            attempts=F("attempts") - 1,
            updated_at=timezone.now(),
        )
        outcome.to_retry(delivery, delivery.attempts - 1)


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: between half and all of ``backoff * 2**retries``.

    ``retries`` counts the attempts already failed: a row's ``attempts`` less one, not the
    task's own retries, since a row may come to a run from another task (a batch filled
    with waiting rows, the transient rows re-queued when others failed for good)."""
    ceiling = min(app_settings.retry_backoff_max, app_settings.retry_backoff * 2.0**retries)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


def _held(delivery: Delivery, using: str):  # type: ignore[no-untyped-def]
    return Delivery.objects.using(using).filter(pk=delivery.pk, claim_token=delivery.claim_token)


MARKS_PER_STATEMENT = 100  # rows one UPDATE records at most


def _update_held(delivery: Delivery, using: str, **values: Any) -> int:
    """``_held(delivery, using).update(**values)`` for plain values."""
    return _update_each_held([delivery], using, values, [{}])


def _update_each_held(
    deliveries: Sequence[Delivery],
    using: str,
    common: Mapping[str, Any],
    each: Sequence[Mapping[str, Any]],
) -> int:
    """Set ``common`` on every row this run still holds, and ``each[n]`` on the nth, in one
    statement, without building the query each time: a sender records every message this
    way, and the ORM's UPDATE cost two to three times the statement itself
    (docs/benchmarks.md). The values are prepared by their fields, as the ORM prepares them.
    """
    connection = connections[using]
    if len(deliveries) == 1:  # a plain assignment, not a CASE of one
        common, each = {**common, **each[0]}, [{}]
    names, per_row = tuple(common), tuple(each[0])

    def prepare(name: str, value: Any) -> Any:
        return _field(name).get_db_prep_save(value, connection)

    params = [prepare(name, common[name]) for name in names]
    for name in per_row:
        for delivery, values in zip(deliveries, each, strict=True):
            params += [delivery.pk, prepare(name, values[name])]
    for delivery in deliveries:
        params += [delivery.pk, delivery.claim_token]
    sql = _held_update_sql(using, connection.vendor, names, per_row, len(deliveries))
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


@functools.lru_cache(maxsize=256)  # groups of 1 to 100 rows, by field names
def _held_update_sql(
    using: str, vendor: str, names: tuple[str, ...], per_row: tuple[str, ...], rows: int
) -> str:
    # vendor is part of the key: a test may point an alias at another database.
    quote = connections[using].ops.quote_name
    pk, token = quote(_column("id")), quote(_column("claim_token"))
    assignments = [f"{quote(_column(name))} = %s" for name in names]
    cases = " ".join(["WHEN %s THEN %s"] * rows)
    assignments += [  # ELSE: the column's own type for the CASE (PostgreSQL), never used
        f"{quote(_column(name))} = CASE {pk} {cases} ELSE {quote(_column(name))} END"
        for name in per_row
    ]
    held = " OR ".join([f"({pk} = %s AND {token} = %s)"] * rows)
    return f"UPDATE {quote(Delivery._meta.db_table)} SET {', '.join(assignments)} WHERE {held}"


def _field(name: str) -> Field[Any, Any]:
    return Delivery._meta.get_field(name)  # type: ignore[return-value]


def _column(name: str) -> str:
    return cast(str, _field(name).column)  # concrete fields have one
