"""Turn outbox rows into Delivery rows: claim a batch of pending notifications, decide each
(rebuild the instance, check the condition, let each channel build its rows), record."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, transaction
from django.utils import timezone

from django_notify_tasks import dispatch
from django_notify_tasks.channels import all_channels, get_channel
from django_notify_tasks.conf import app_settings
from django_notify_tasks.deliveries import ids_by_channel
from django_notify_tasks.instances import (
    InstanceGone,
    Loaded,
    load_instance,
    load_related,
    preload_instances,
)
from django_notify_tasks.models import Delivery, DeliveryContent, Notification
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN, claim_pending, release
from django_notify_tasks.preferences import skip_opted_out
from django_notify_tasks.rules import Rule, current_rules

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Decision:
    """What processing decided for one notification, before anything is written."""

    status: str
    error: str = ""
    deliveries: list[Delivery] = dataclasses.field(default_factory=list)


DELIVERIES_PER_INSERT = 500  # a fan-out to thousands is written in bounded statements


def process_notification(notification_id: int, using: str) -> dict[str, list[int]]:
    """Create the deliveries of one pending notification once; return pending ids by channel."""
    return process_pending(notification_id, using, limit=1)


class OutOfTime(SoftTimeLimitExceeded):
    """The soft time limit stopped a processing run; what it decided is recorded, and
    ``pending`` holds those notifications' deliveries to send, by channel."""

    def __init__(self, pending: dict[str, list[int]]) -> None:
        super().__init__("the soft time limit stopped the processing run")
        self.pending = pending


def time_budget() -> float:
    """Seconds a run spends starting new notifications: half the soft time limit, so what
    it decided is recorded and its first batches sent well before the limit."""
    return app_settings.soft_time_limit / 2


def process_pending(
    notification_id: int,
    using: str,
    limit: int = NOTIFICATIONS_PER_RUN,
    also: Sequence[int] = (),
) -> dict[str, list[int]]:
    """Create the deliveries of up to ``limit`` pending notifications, ``notification_id``
    first, then the oldest others; return the pending delivery ids by channel.

    Taking the others along is what keeps a backlog cheap: one run claims, decides and
    records a batch in a few statements, and the tasks queued for the rest of the batch
    then find their notification done. Each row is claimed (``notification_claims``), so
    two runs never take the same one.

    A run always makes progress: it starts no new notification past ``time_budget()``
    (its own is always decided), and when the soft time limit stops it mid-way it records
    what it decided, gives the rest back and raises ``OutOfTime`` with what to send. What
    it gives back is queued again at once. A notification runs keep stopping on fails
    after ``PROCESSING_ATTEMPTS`` (``notification_claims``).

    Rules' user code (conditions, recipients, templates, ``data`` callables) runs before the
    write transaction, so a slow template never holds a lock (on SQLite: the database-wide
    write lock). The write re-checks the claim under ``select_for_update``. A database error
    in one notification's user code leaves it pending, and only a batch in which every
    notification hit one (the database is down) ends the run with that error.
    """
    token, batch = claim_pending(notification_id, using, limit, also)
    if not batch:
        return {}  # processed (a redelivered or re-swept task), cancelled, or taken by another
    run = _Run(batch, using)
    try:
        instances = preload_instances(batch, using)
        run.decide_within_budget(instances)
        if run.database_errors and not run.decided:
            raise run.database_errors[-1]
        done = _record(token, run.decided, using)
    except SoftTimeLimitExceeded:
        done = _record(token, run.decided, using)
        _give_back(token, using, run.not_started())
        raise OutOfTime(_pending_deliveries(done, using)) from None
    except BaseException:  # the database, or the worker stopping: nothing was tried
        _give_back(token, using, [row.pk for row in batch])
        raise
    if len(done) < len(batch):  # rows it did not start, or lost: none in a run that went well
        _give_back(token, using, run.not_started())
    return _pending_deliveries(done, using)


class _Run:
    """The notifications a run decides, in order, until its time budget is spent."""

    def __init__(self, batch: list[Notification], using: str) -> None:
        self.batch, self.using = batch, using
        self.decided: list[tuple[Notification, Decision]] = []
        self.database_errors: list[DatabaseError] = []
        self.current: int | None = None  # the row being decided, while it is
        self.deadline = time.monotonic() + time_budget()

    def decide_within_budget(self, instances: Loaded) -> None:
        for position, notification in enumerate(self.batch):
            if position and time.monotonic() > self.deadline:
                return
            self.current = notification.pk
            try:
                decision = _decide_safely(notification, self.using, instances)
            except DatabaseError as exc:
                self.current = None
                logger.warning(
                    "Notification %s stays pending: a database error while deciding it: %s",
                    notification.pk,
                    exc,
                )
                self.database_errors.append(exc)
                continue
            self.current = None
            self.decided.append((notification, decision))

    def not_started(self) -> list[int]:
        """Rows to give back with their attempt: all but the decided ones and the one the
        run was deciding when it was stopped."""
        kept = {notification.pk for notification, _ in self.decided} | {self.current}
        return [row.pk for row in self.batch if row.pk not in kept]


def _give_back(token: str, using: str, not_started: list[int]) -> None:
    """Release the rows this run holds and queue a run for them: their own tasks may have
    come and gone while this run held them."""
    released = release(token, using, not_started)
    if released:
        # Looked up at call time, so django_notify_tasks.testing can stand in for the broker.
        dispatch.requeue(released, using)


def _pending_deliveries(done: list[int], using: str) -> dict[str, list[int]]:
    rows = Delivery.objects.using(using).filter(
        notification_id__in=done, status=Delivery.Status.PENDING
    )
    return ids_by_channel(rows)


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
    # Users' preferences for the whole batch, in one query (not one per recipient).
    rows = [row for _, decision in outcomes for row in decision.deliveries]
    skip_opted_out(rows, using)
    for channel in all_channels():  # email: rows that wait for a digest
        channel.hold([row for row in rows if row.channel == channel.name], using)
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
        rows = [delivery for _, outcome in kept for delivery in outcome.deliveries]
        DeliveryContent.objects.attach(rows, using)  # one row per distinct rendering
        Delivery.objects.using(using).bulk_create(
            rows,
            ignore_conflicts=True,
            batch_size=DELIVERIES_PER_INSERT,
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
