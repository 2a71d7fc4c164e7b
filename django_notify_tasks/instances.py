"""The rows a notification is about, as they are now or as the snapshot kept them: loaded in
bulk for a processing batch, or one at a time."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models

from django_notify_tasks.channels import get_channel
from django_notify_tasks.models import Notification
from django_notify_tasks.rules import current_rules

logger = logging.getLogger(__name__)
Loaded = dict[tuple[str, str], Any]  # rows loaded for a batch, by (model label, pk as stored)


class InstanceGone(Exception):
    """The row was deleted and the notification carries no snapshot to render from."""


def preload_instances(batch: list[Notification], using: str) -> Loaded:
    """The rows the batch is about and its related objects, one query per model.

    Keyed by ``(model label, pk as stored)``; a row that is gone is simply absent.
    """
    wanted: dict[str, set[str]] = {}
    for notification in batch:
        if notification.event != "deleted":
            wanted.setdefault(notification.model, set()).add(notification.object_pk)
        if notification.related_model:
            wanted.setdefault(notification.related_model, set()).add(notification.related_pk)
    found: Loaded = {}
    for label, stored_pks in wanted.items():
        try:
            found.update(_load_in_bulk(label, stored_pks, using))
        except DatabaseError:
            raise
        except Exception:  # a model gone from INSTALLED_APPS, a manager that raises: each
            # of its notifications is then loaded, and fails with the reason, on its own
            logger.warning("Could not load %s rows in bulk", label, exc_info=True)
    _prefetch_for_channels(batch, found)
    return found


def _load_in_bulk(label: str, stored_pks: set[str], using: str) -> Loaded:
    model = apps.get_model(label)
    pks = []
    for stored in stored_pks:
        try:
            pks.append(model._meta.pk.to_python(stored))
        except ValidationError:
            continue  # not a pk of this model: it is looked up alone, and found missing
    rows = model._default_manager.using(using).in_bulk(pks)
    return {(label, str(pk)): instance for pk, instance in rows.items()}


def _prefetch_for_channels(batch: list[Notification], found: Loaded) -> None:
    """Let each channel load, for the whole batch, the relations its sections walk
    (``Channel.prefetch``): one query per relation instead of one per notification."""
    by_rule: dict[str, list[Any]] = {}
    for notification in batch:
        instance = found.get((notification.model, notification.object_pk))
        if instance is not None and notification.event != "deleted":
            by_rule.setdefault(notification.rule, []).append(instance)
    rules = current_rules().rules
    for name, instances in by_rule.items():
        rule = rules.get(name)
        for channel_name, spec in rule.sections.items() if rule else ():
            get_channel(channel_name).prefetch(spec, instances)


def load_instance(
    notification: Notification,
    model: type[models.Model],
    using: str,
    instances: Loaded | None = None,
) -> Any:
    """The row as it is now, or as it was when the event happened if it is gone."""
    if notification.event != "deleted":
        found = _loaded(instances, notification.model, notification.object_pk)
        if found is None:
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


def load_related(notification: Notification, using: str, instances: Loaded | None = None) -> Any:
    """The object added to or removed from a many-to-many relation, if it still exists."""
    if not notification.related_model:
        return None
    found = _loaded(instances, notification.related_model, notification.related_pk)
    if found is not None:
        return found
    model = apps.get_model(notification.related_model)
    return model._default_manager.using(using).filter(pk=notification.related_pk).first()


def _loaded(instances: Loaded | None, label: str, pk: str) -> Any:
    return None if instances is None else instances.get((label, pk))
