"""The Notification row as a claim: which processing run holds it, and how often runs
stopped while deciding it.

``attempts`` counts the runs that took a row. A run gives back, with their attempt, the
rows it did not start (out of time, or the database failed); the row it was deciding when
the soft time limit hit, or when its worker died, keeps the attempt. A row that was
interrupted before is never taken along by another notification's run (it would stop that
run again); it is processed as a run's own notification, and fails with the reason once
``PROCESSING_ATTEMPTS`` runs stopped on it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Collection, Sequence

from django.db import DatabaseError, connections, transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When
from django.db.models.functions import Now
from django.utils import timezone

from django_notify_tasks.deliveries import claim_cutoff
from django_notify_tasks.models import Notification

logger = logging.getLogger("django_notify_tasks.processing")

PROCESSING_ATTEMPTS = 5  # runs that may stop on one notification before it fails
NOTIFICATIONS_PER_RUN = 100  # a processing run takes its own and the oldest waiting ones


def claimable() -> Q:
    """Pending notifications no live run holds (a claim past the hard time limit is dead)."""
    unclaimed = Q(claim_token="") | Q(claimed_at__lt=claim_cutoff())
    return Q(status=Notification.Status.PENDING) & unclaimed


def claim_pending(
    notification_id: int, using: str, limit: int, also: Sequence[int] = ()
) -> tuple[str, list[Notification]]:
    """Take up to ``limit`` claimable rows: ``notification_id`` and ``also`` first (the run's
    own), then the oldest others that no run was interrupted on (with ``limit`` 1, only
    ``notification_id``).

    The claim is one conditional UPDATE, so of two runs racing for a row one gets it. On
    databases with ``SKIP LOCKED`` (PostgreSQL, MariaDB 10.6+, MySQL 8) the rows are chosen
    past the rows another run is claiming at that moment, and locked as they are chosen:
    concurrent runs take different rows, and the UPDATE never waits for another run.
    """
    token = uuid.uuid4().hex
    rows = Notification.objects.using(using)
    skip_locked = connections[using].features.has_select_for_update_skip_locked
    # Elsewhere (SQLite) the choice and the claim are statements in autocommit: a
    # transaction would only widen SQLite's lock, and the UPDATE re-checks each row anyway.
    with transaction.atomic(using=using) if skip_locked else contextlib.nullcontext():
        ids = choose([notification_id, *also], using, limit, skip_locked)
        claimed = ids and rows.filter(claimable(), pk__in=ids).update(
            claim_token=token, claimed_at=Now(), attempts=F("attempts") + 1
        )
    if not claimed:
        return token, []
    batch = rows.filter(claim_token=token, status=Notification.Status.PENDING)
    own = sorted(batch, key=lambda row: (row.pk != notification_id, row.pk not in also, row.pk))
    return token, _without_worn_out(token, own, using)


def choose(own_ids: Sequence[int], using: str, limit: int, skip_locked: bool) -> list[int]:
    """The ids to claim, locked (``skip_locked``) in the caller's transaction: the own rows,
    then the oldest others in the order of an index.

    Two statements, not one ``ORDER BY <own row first>``: that order needs a sort, and
    MariaDB locks every row it reads before sorting, so one run would lock all pending rows
    and a concurrent run would find none to take, not even its own. Each statement here
    reads rows in index order and locks only those it returns. Taking the own row first
    also keeps two runs from each holding the other's own row and waiting for each other.
    """
    chosen = Notification.objects.using(using).filter(claimable())
    if skip_locked:
        chosen = chosen.select_for_update(skip_locked=True)
    own = list(chosen.filter(pk__in=own_ids[:limit]).order_by("pk").values_list("pk", flat=True))
    if limit <= len(own_ids):  # with limit 1 (one notification), only its own row
        return own
    others = chosen.filter(attempts=0).exclude(pk__in=own_ids).order_by("created_at", "pk")
    return own + list(others.values_list("pk", flat=True)[: limit - len(own)])


def _without_worn_out(token: str, batch: list[Notification], using: str) -> list[Notification]:
    """Fail the rows runs stopped on ``PROCESSING_ATTEMPTS`` times; return the others."""
    worn_out = [row.pk for row in batch if row.attempts > PROCESSING_ATTEMPTS]
    if worn_out:
        reason = (
            f"processing stopped {PROCESSING_ATTEMPTS} times before it finished (the task's "
            "soft time limit, or a worker that died): given up"
        )
        Notification.objects.using(using).filter(pk__in=worn_out, claim_token=token).update(
            status=Notification.Status.FAILED, error=reason, processed_at=timezone.now()
        )
        logger.error("Notifications %s failed: %s", worn_out, reason)
    return [row for row in batch if row.pk not in worn_out]


def release(token: str, using: str, not_started: Collection[int]) -> list[int]:
    """Give the rows this run still holds back, so the next run takes them at once; the
    ``not_started`` ones get their attempt back. Returns the ids given back."""
    rows = Notification.objects.using(using).filter(
        claim_token=token, status=Notification.Status.PENDING
    )
    try:
        held = list(rows.order_by("pk").values_list("pk", flat=True))
        rows.update(
            claim_token="",
            claimed_at=None,
            attempts=Case(
                When(pk__in=list(not_started), then=F("attempts") - 1),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            ),
        )
    except DatabaseError:  # the database is why we stop: the claim expires on its own
        logger.warning("Could not release the claim %s", token, exc_info=True)
        return []
    return held
