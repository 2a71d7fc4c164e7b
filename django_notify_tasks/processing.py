"""Turn one outbox row into Delivery rows: rebuild the instance, resolve targets, render."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from django_notify_tasks.conf import app_settings
from django_notify_tasks.email import build_email_deliveries
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.realtime import build_realtime_deliveries
from django_notify_tasks.rules import Rule, current_rules

logger = logging.getLogger(__name__)


class InstanceGone(Exception):
    """The row was deleted and the notification carries no snapshot to render from."""


@dataclasses.dataclass
class Outcome:
    """What processing decided for one notification, before anything is written."""

    status: str
    error: str = ""
    deliveries: list[Delivery] = dataclasses.field(default_factory=list)


def process_notification(notification_id: int, using: str) -> dict[str, list[int]]:
    """Create the deliveries of a pending notification once; return pending ids by channel.

    Rules' user code (conditions, recipients, templates, ``data`` callables) runs before the
    write transaction, so a slow template never holds a lock (on SQLite: the database-wide
    write lock). The write re-checks the status under ``select_for_update``: when two workers
    race on one notification, the second finds it processed and writes nothing.
    """
    notification = (
        Notification.objects.using(using)
        .filter(pk=notification_id, status=Notification.Status.PENDING)
        .first()
    )
    if notification is None:
        return {}  # already processed (a redelivered or re-swept task), or cancelled
    try:
        outcome = decide(notification, using)
    except (SoftTimeLimitExceeded, DatabaseError):
        raise  # out of time, or the database itself: leave it pending for a retry
    except Exception as exc:
        reason = f"processing raised {type(exc).__name__}: {exc}"
        logger.exception("Notification %s failed: %s", notification_id, reason)
        outcome = Outcome(Notification.Status.FAILED, reason[:2000])
    if not _record(notification_id, outcome, using):
        return {}
    pending: dict[str, list[int]] = {}
    rows = Delivery.objects.using(using).filter(
        notification_id=notification_id, status=Delivery.Status.PENDING
    )
    for pk, channel in rows.order_by("pk").values_list("pk", "channel"):
        pending.setdefault(channel, []).append(pk)
    return pending


def _record(notification_id: int, outcome: Outcome, using: str) -> bool:
    """Write the outcome if the notification is still pending; False if another got there."""
    with transaction.atomic(using=using):
        notification = (
            Notification.objects.using(using)
            .select_for_update()
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if notification is None:
            return False
        Delivery.objects.using(using).bulk_create(outcome.deliveries, ignore_conflicts=True)
        notification.status = outcome.status
        notification.error = outcome.error
        notification.processed_at = timezone.now()
        notification.save(using=using, update_fields=["status", "error", "processed_at"])
    return True


def decide(notification: Notification, using: str) -> Outcome:
    """Rebuild the instance, check the condition and render every delivery; writes nothing."""
    rule = current_rules().rules.get(notification.rule)
    if rule is None:
        return Outcome(Notification.Status.FAILED, "rule not configured")
    try:
        instance = load_instance(notification, rule.model, using)
    except InstanceGone as exc:
        return Outcome(Notification.Status.FAILED, str(exc))
    related = load_related(notification, using)
    try:
        holds = _condition_holds_in_worker(rule, notification, instance)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        return Outcome(Notification.Status.FAILED, f"condition raised {type(exc).__name__}: {exc}")
    if not holds:
        return Outcome(Notification.Status.SKIPPED, "condition is false")
    context = {
        "instance": instance,
        "related": related,
        "event": notification.event,
        "rule": rule.name,
        "notification": notification,
    }
    deliveries: list[Delivery] = []
    if rule.email is not None:
        deliveries += build_email_deliveries(rule.email, notification, instance, context)
    if rule.realtime is not None and app_settings.centrifugo_api_url:  # None: realtime off
        deliveries += build_realtime_deliveries(rule.realtime, notification, instance, context)
    return Outcome(Notification.Status.PROCESSED, deliveries=deliveries)


def _condition_holds_in_worker(rule: Rule, notification: Notification, instance: Any) -> bool:
    # The request path checks conditions when it holds the instance; an m2m change made from
    # the other side (user.chats.add(chat)) only knows the chat's pk, so it is checked here.
    if rule.condition is None or notification.snapshot or not rule.m2m_field:
        return True
    return bool(rule.condition(instance, notification.event))


def load_instance(notification: Notification, model: type[models.Model], using: str) -> Any:
    """The row as it is now, or as it was when the event happened if it is gone."""
    if notification.event != "deleted":
        found = model._default_manager.using(using).filter(pk=notification.object_pk).first()
        if found is not None:
            return found
    if not notification.snapshot:
        raise InstanceGone(
            f"{notification.model} {notification.object_pk} no longer exists "
            "and the notification has no snapshot"
        )
    return from_snapshot(model, notification.snapshot)


def from_snapshot(model: type[models.Model], snapshot: dict[str, Any]) -> models.Model:
    """An unsaved instance built from the JSON snapshot taken on the request path."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.attname in snapshot:
            values[field.attname] = _to_python(field, snapshot[field.attname])
    return model(**values)


def _to_python(field: models.Field[Any, Any], value: Any) -> Any:
    try:
        return field.to_python(value)
    except ValidationError:
        return value


def load_related(notification: Notification, using: str) -> Any:
    """The object added to or removed from a many-to-many relation, if it still exists."""
    if not notification.related_model:
        return None
    model = apps.get_model(notification.related_model)
    return model._default_manager.using(using).filter(pk=notification.related_pk).first()
