"""Turn outbox rows into Delivery rows: claim a batch of pending notifications, decide each
(rebuild the instance, check the condition, let each channel build its rows), record."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connections, transaction
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from django_notify_tasks.channels import get_channel
from django_notify_tasks.deliveries import claim_cutoff, ids_by_channel
from django_notify_tasks.instances import (
    InstanceGone,
    Loaded,
    load_instance,
    load_related,
    preload_instances,
)
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.preferences import skip_opted_out
from django_notify_tasks.rules import Rule, current_rules

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Decision:
    """What processing decided for one notification, before anything is written."""

    status: str
    error: str = ""
    deliveries: list[Delivery] = dataclasses.field(default_factory=list)


NOTIFICATIONS_PER_RUN = 50  # a processing run takes its own and the oldest waiting


def process_notification(notification_id: int, using: str) -> dict[str, list[int]]:
    """Create the deliveries of one pending notification once; return pending ids by channel."""
    return process_pending(notification_id, using, limit=1)


def process_pending(
    notification_id: int, using: str, limit: int = NOTIFICATIONS_PER_RUN
) -> dict[str, list[int]]:
    """Create the deliveries of up to ``limit`` pending notifications, ``notification_id``
    first, then the oldest others; return the pending delivery ids by channel.

    Taking the others along is what keeps a backlog cheap: one run claims, decides and
    records a batch in a few statements, and the tasks queued for the rest of the batch
    then find their notification done. Each row is claimed (``claim_pending``), so two runs
    never take the same one.

    Rules' user code (conditions, recipients, templates, ``data`` callables) runs before the
    write transaction, so a slow template never holds a lock (on SQLite: the database-wide
    write lock). The write re-checks the claim under ``select_for_update``. One
    notification's trouble never holds back the others of its batch: a database error in
    its user code leaves it pending (for the sweeper), and only a batch in which every
    notification hit one (the database is down) ends the run with that error.
    """
    token, batch = claim_pending(notification_id, using, limit)
    if not batch:
        return {}  # processed (a redelivered or re-swept task), cancelled, or taken by another
    try:
        instances = preload_instances(batch, using)
        outcomes, database_errors = _decide_each(batch, using, instances)
        if database_errors and not outcomes:
            raise database_errors[-1]
        # Users' preferences for the whole batch, in one query (not one per recipient).
        skip_opted_out([row for _, outcome in outcomes for row in outcome.deliveries], using)
        done = _record(token, outcomes, using)
    except BaseException:  # out of time, or the database: the rows stay pending, unclaimed
        _release(token, using)
        raise
    if database_errors:
        _release(token, using)  # the ones left out, for the next run or the sweeper
    rows = Delivery.objects.using(using).filter(
        notification_id__in=done, status=Delivery.Status.PENDING
    )
    return ids_by_channel(rows)


def _decide_each(
    batch: list[Notification], using: str, instances: Loaded
) -> tuple[list[tuple[Notification, Decision]], list[DatabaseError]]:
    outcomes, database_errors = [], []
    for notification in batch:
        try:
            outcomes.append((notification, _decide_safely(notification, using, instances)))
        except DatabaseError as exc:
            logger.warning(
                "Notification %s stays pending: a database error while deciding it: %s",
                notification.pk,
                exc,
            )
            database_errors.append(exc)
    return outcomes, database_errors


def claimable() -> Q:
    """Pending notifications no live run holds (a claim past the hard time limit is dead)."""
    unclaimed = Q(claim_token="") | Q(claimed_at__lt=claim_cutoff())
    return Q(status=Notification.Status.PENDING) & unclaimed


def claim_pending(notification_id: int, using: str, limit: int) -> tuple[str, list[Notification]]:
    """Take up to ``limit`` claimable rows: ``notification_id`` first, then the oldest others
    (with ``limit`` 1, only ``notification_id``).

    The claim is one conditional UPDATE, so of two runs racing for a row one gets it. On
    databases with ``SKIP LOCKED`` (PostgreSQL, MySQL 8, Oracle) the rows are chosen, own
    row first, past the rows another run is claiming at that moment, and locked as they are
    chosen: concurrent runs take different rows, and the UPDATE never waits for another
    run (had the own row been left out of the locking choice, two runs could each hold the
    other's own row and wait for each other until the deadlock detector broke it up).
    """
    token = uuid.uuid4().hex
    rows = Notification.objects.using(using)
    own_first = Case(When(pk=notification_id, then=Value(0)), default=Value(1))
    chosen = rows.filter(claimable()).order_by(own_first, "pk")
    if limit <= 1:
        chosen = chosen.filter(pk=notification_id)
    skip_locked = connections[using].features.has_select_for_update_skip_locked
    # Elsewhere (SQLite) the choice and the claim are two statements in autocommit: a
    # transaction would only widen SQLite's lock, and the UPDATE re-checks each row anyway.
    with transaction.atomic(using=using) if skip_locked else contextlib.nullcontext():
        if skip_locked:
            chosen = chosen.select_for_update(skip_locked=True)
        ids = list(chosen.values_list("pk", flat=True)[:limit])
        claimed = ids and rows.filter(claimable(), pk__in=ids).update(
            claim_token=token, claimed_at=Now()
        )
    if not claimed:
        return token, []
    batch = rows.filter(claim_token=token, status=Notification.Status.PENDING).order_by("pk")
    return token, list(batch)


def _release(token: str, using: str) -> None:
    """Give claimed rows back, so the next task or sweep takes them at once."""
    try:
        Notification.objects.using(using).filter(
            claim_token=token, status=Notification.Status.PENDING
        ).update(claim_token="", claimed_at=None)
    except DatabaseError:  # the database is why we stop: the claim expires on its own
        logger.warning("Could not release the claim %s", token, exc_info=True)


def _decide_safely(notification: Notification, using: str, instances: Loaded) -> Decision:
    try:
        return decide(notification, using, instances)
    except (SoftTimeLimitExceeded, DatabaseError):
        raise  # out of time, or the database itself: leave it pending for a retry
    except Exception as exc:
        reason = f"processing raised {type(exc).__name__}: {exc}"
        logger.exception("Notification %s failed: %s", notification.pk, reason)
        return Decision(Notification.Status.FAILED, reason[:2000])


def _record(token: str, outcomes: list[tuple[Notification, Decision]], using: str) -> list[int]:
    """Write the outcomes of the rows this run still holds; return their ids."""
    with transaction.atomic(using=using):
        held = set(
            Notification.objects.using(using)
            .select_for_update()
            .filter(
                pk__in=[notification.pk for notification, _ in outcomes],
                claim_token=token,
                status=Notification.Status.PENDING,
            )
            .values_list("pk", flat=True)
        )
        kept = [(notification, outcome) for notification, outcome in outcomes
                if notification.pk in held]  # fmt: skip
        Delivery.objects.using(using).bulk_create(
            [delivery for _, outcome in kept for delivery in outcome.deliveries],
            ignore_conflicts=True,
        )
        by_result: dict[tuple[str, str], list[int]] = {}
        for notification, outcome in kept:
            by_result.setdefault((outcome.status, outcome.error), []).append(notification.pk)
        now = timezone.now()
        for (status, error), pks in by_result.items():
            Notification.objects.using(using).filter(pk__in=pks).update(
                status=status, error=error, processed_at=now
            )
    return sorted(held)


def decide(notification: Notification, using: str, instances: Loaded | None = None) -> Decision:
    """Rebuild the instance, check the condition and render every delivery; writes nothing.

    ``instances`` holds rows already loaded for a batch (``preload_instances``).
    """
    rule = current_rules().rules.get(notification.rule)
    if rule is None:
        return Decision(Notification.Status.FAILED, "rule not configured")
    try:
        instance = load_instance(notification, rule.model, using, instances)
    except InstanceGone as exc:
        return Decision(Notification.Status.FAILED, str(exc))
    related = load_related(notification, using, instances)
    try:
        holds = _condition_holds_in_worker(rule, notification, instance)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        return Decision(
            Notification.Status.FAILED, f"condition raised {type(exc).__name__}: {exc}"
        )
    if not holds:
        return Decision(Notification.Status.SKIPPED, "condition is false")
    context = {
        "instance": instance,
        "related": related,
        "event": notification.event,
        "rule": rule.name,
        "notification": notification,
    }
    deliveries: list[Delivery] = []
    for name, spec in rule.sections.items():
        channel = get_channel(name)
        if channel.enabled():
            deliveries += channel.build_deliveries(spec, notification, instance, context)
    return Decision(Notification.Status.PROCESSED, deliveries=deliveries)


def _condition_holds_in_worker(rule: Rule, notification: Notification, instance: Any) -> bool:
    # The request path checks conditions when it holds the instance; an m2m change made from
    # the other side (user.chats.add(chat)) only knows the chat's pk, so it is checked here.
    if rule.condition is None or notification.snapshot or not rule.m2m_field:
        return True
    return bool(rule.condition(instance, notification.event))
