"""Receivers for the configured models: match an event to its rules and have it recorded.

This is the host's request path: it runs no SELECT of its own and one INSERT per event, and it
never lets an error escape into the host's ``save()``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.dispatch import Signal

from django_notify_tasks import recording

# Documented here first (docs/rules.md); it lives with the other errors now.
from django_notify_tasks.exceptions import UnknownRuleError as UnknownRuleError
from django_notify_tasks.rules import Rule, current_rules

logger = logging.getLogger(__name__)

INITIAL_VALUES = "_notify_tasks_initial"
M2M_ACTIONS = {"post_add": "m2m_added", "post_remove": "m2m_removed"}

_connected: list[tuple[Signal, type[models.Model], str]] = []
_index: dict[type[models.Model], dict[str, list[Rule]]] = {}
# Per model, the fields its "updated" rules filter on: built once, read on every init/save.
_tracked: dict[type[models.Model], frozenset[str]] = {}


# Receivers -----------------------------------------------------------------------------------


def on_post_init(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Remember the loaded values of fields that ``updated`` rules filter on."""
    _remember_values(instance, _tracked_attnames(sender))


def on_post_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """Record ``created`` and ``updated`` events."""
    if raw:
        return
    event = "created" if created else "updated"
    rules = _index.get(sender, {}).get(event, [])
    if event == "updated":
        rules = [r for r in rules if _fields_changed(r, instance, update_fields)]
    recording.record_safely(rules, instance, event, using=using)
    saved = _tracked_attnames(sender)
    if update_fields is not None:
        saved &= _attnames_of(instance, update_fields)
    _remember_values(instance, saved)


def on_post_delete(
    sender: type[models.Model],
    instance: models.Model,
    using: str = DEFAULT_DB_ALIAS,
    **kwargs: Any,
) -> None:
    """Record ``deleted`` events, with the snapshot taken before the row went away."""
    recording.record_safely(
        _index.get(sender, {}).get("deleted", []), instance, "deleted", using=using
    )


def on_m2m_changed(
    sender: type[models.Model],
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    using: str = DEFAULT_DB_ALIAS,
    raw: bool = False,
    **kwargs: Any,
) -> None:
    """Record one notification per added or removed object, from either side of the relation."""
    event = M2M_ACTIONS.get(action)
    if event is None or raw or not pk_set:
        return
    for rule in _index.get(sender, {}).get(event, []):
        try:
            rows = recording.m2m_rows(
                rule, instance, reverse, model, sorted(pk_set, key=str), event
            )
            recording.insert_and_enqueue(rows, using)
        except Exception:
            logger.exception(
                "django-notify-tasks could not record %r for %r.", rule.name, instance
            )


# Field tracking for "updated" rules with "fields" --------------------------------------------


def _tracked_attnames(model: type[models.Model]) -> frozenset[str]:
    return _tracked.get(model, frozenset())


def _remember_values(instance: models.Model, attnames: frozenset[str]) -> None:
    """Record the values now in the database for ``attnames``, keeping the others."""
    if attnames:
        loaded = instance.__dict__
        remembered = loaded.setdefault(INITIAL_VALUES, {})
        remembered.update({name: loaded[name] for name in attnames if name in loaded})


def _fields_changed(
    rule: Rule, instance: models.Model, update_fields: frozenset[str] | None
) -> bool:
    if not rule.fields:
        return True
    candidates = rule.tracked_attnames
    if update_fields is not None:
        candidates = candidates & _attnames_of(instance, update_fields)
    initial = instance.__dict__.get(INITIAL_VALUES, {})
    current = instance.__dict__
    return any(name not in initial or initial[name] != current.get(name) for name in candidates)


def _attnames_of(instance: models.Model, names: frozenset[str]) -> set[str]:
    fields = (instance._meta.get_field(name) for name in names)
    return {field.attname for field in fields if isinstance(field, models.Field)}


# Connection ----------------------------------------------------------------------------------


def connect_receivers() -> None:
    """(Re)build the rule index from the live setting and connect receivers per sender."""
    disconnect_receivers()
    _index.clear()
    _tracked.clear()
    for rule in current_rules().rules.values():
        sender = rule.m2m_through or rule.model
        for event in rule.events:
            _index.setdefault(sender, defaultdict(list))[event].append(rule)
        if rule.tracked_attnames:
            _tracked[sender] = _tracked.get(sender, frozenset()) | rule.tracked_attnames
    _extend_to_proxies()
    for sender, by_event in _index.items():
        label = sender._meta.label_lower
        if by_event.keys() & {"m2m_added", "m2m_removed"}:
            _connect(m2m_changed, on_m2m_changed, sender, label)
        if by_event.keys() & {"created", "updated"}:
            _connect(post_save, on_post_save, sender, label)
        if "deleted" in by_event:
            _connect(post_delete, on_post_delete, sender, label)
        if _tracked_attnames(sender):
            _connect(post_init, on_post_init, sender, label)


def _extend_to_proxies() -> None:
    """Django sends a proxy instance's signals with the proxy as sender: give it the rules
    of the models it stands in for, so saving through a proxy is the same event."""
    for proxy in apps.get_models():
        if not proxy._meta.proxy:
            continue
        for ancestor in proxy.__mro__[1:]:
            if ancestor in _index:
                by_event = _index.setdefault(proxy, defaultdict(list))
                for event, rules in _index[ancestor].items():
                    by_event[event].extend(r for r in rules if r not in by_event[event])
                _tracked[proxy] = _tracked_attnames(proxy) | _tracked_attnames(ancestor)


def disconnect_receivers() -> None:
    """Disconnect everything ``connect_receivers`` connected."""
    for signal, sender, uid in _connected:
        signal.disconnect(sender=sender, dispatch_uid=uid)
    _connected.clear()


def _connect(signal: Signal, receiver: Any, sender: type[models.Model], label: str) -> None:
    uid = f"django_notify_tasks.{receiver.__name__}.{label}"
    signal.connect(receiver, sender=sender, dispatch_uid=uid, weak=False)
    _connected.append((signal, sender, uid))
