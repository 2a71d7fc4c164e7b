"""Record an event: one outbox row per matching rule, with a JSON snapshot of the instance,
written in the host's transaction (``outbox``) and handed to the broker after commit
(``dispatch``). The receivers in ``signals`` and the public ``notify()`` both come here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.db import models, router, transaction

from django_notify_tasks import dispatch, outbox
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import UnknownRuleError
from django_notify_tasks.models import Notification
from django_notify_tasks.rules import Rule, current_rules
from django_notify_tasks.snapshots import take_snapshot

logger = logging.getLogger("django_notify_tasks.signals")  # the request path's documented logger


def record(
    rule_name: str,
    instances: Sequence[models.Model],
    *,
    event: str,
    related: models.Model | None = None,
    using: str | None = None,
) -> list[int]:
    """The public ``notify()`` path: same rows and dispatch as a signal, with one INSERT."""
    rule = current_rules().rules.get(rule_name)
    if rule is None:
        raise UnknownRuleError(
            f"notify() got rule_name={rule_name!r}, which is not in NOTIFY_TASKS_RULES "
            "(or is invalid: run manage.py check)."
        )
    if not instances:
        return []
    alias = using or router.db_for_write(Notification, instance=instances[0])
    rows = [
        build_notification(rule, obj, event, related=related)
        for obj in instances
        if condition_holds(rule, obj, event)
    ]
    return insert_and_enqueue(rows, alias)


def build_notification(
    rule: Rule, instance: models.Model, event: str, *, related: models.Model | None = None
) -> Notification:
    """An unsaved outbox row for ``instance``, with a JSON snapshot of its own fields."""
    return Notification(
        rule=rule.name,
        event=event,
        model=instance._meta.label_lower,
        object_pk=str(instance.pk),
        related_model=related._meta.label_lower if related is not None else "",
        related_pk=str(related.pk) if related is not None else "",
        snapshot=take_snapshot(instance, rule.snapshot),
    )


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The snapshot a rule without a ``snapshot`` key keeps (``snapshots.take_snapshot``)."""
    return take_snapshot(instance)


def record_safely(
    rules: Iterable[Rule], instance: models.Model, event: str, *, using: str
) -> None:
    try:
        rows = [
            build_notification(rule, instance, event)
            for rule in rules
            if condition_holds(rule, instance, event)
        ]
        insert_and_enqueue(rows, using)
    except Exception:
        logger.exception("django-notify-tasks could not record %s of %r.", event, instance)


def condition_holds(rule: Rule, instance: models.Model, event: str) -> bool:
    if rule.condition is None:
        return True
    try:
        return bool(rule.condition(instance, event))
    except Exception:
        logger.exception("Condition of rule %r raised for %r; skipped.", rule.name, instance)
        return False


def m2m_rows(
    rule: Rule,
    instance: models.Model,
    reverse: bool,
    other_model: type[models.Model],
    pks: list[Any],
    event: str,
) -> list[Notification]:
    if not reverse:
        # chat.members.add(u1, u2): the rule's instance is here, the users are known by pk.
        return [
            _with_related(build_notification(rule, instance, event), other_model, pk)
            for pk in pks
            if condition_holds(rule, instance, event)
        ]
    # user.chats.add(c1, c2): the rule's instances are known by pk; the user is the related.
    return [
        Notification(
            rule=rule.name,
            event=event,
            model=rule.model._meta.label_lower,
            object_pk=str(pk),
            related_model=instance._meta.label_lower,
            related_pk=str(instance.pk),
        )
        for pk in pks
    ]


def _with_related(row: Notification, model: type[models.Model], pk: Any) -> Notification:
    row.related_model = model._meta.label_lower
    row.related_pk = str(pk)
    return row


def insert_and_enqueue(rows: list[Notification], using: str) -> list[int]:
    if not rows:
        return []
    outbox.insert_rows(rows, using)
    ids = [row.pk for row in rows]
    if relayed(using):
        return ids  # a worker's relay hands the rows to the broker (relay.py)
    transaction.on_commit(partial(_enqueue_after_commit, ids, using), using=using, robust=True)
    return ids


def relayed(using: str) -> bool:
    """Whether the relay hands rows of database ``using`` over, so the save publishes
    nothing: in relay mode, for the database outbox rows go to by default."""
    return app_settings.dispatch == "relay" and using == router.db_for_write(Notification)


def _enqueue_after_commit(ids: list[int], using: str) -> None:
    # Looked up at call time, so django_notify_tasks.testing can stand in for the broker.
    dispatch.enqueue_notifications(ids, using)
