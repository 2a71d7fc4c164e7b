"""Parse and validate ``NOTIFY_TASKS_RULES`` into frozen dataclasses.

Parsing never raises for a bad rule: it returns the problems (with their check ids) beside the
rules that are usable, so ``ready()`` cannot fail at import and ``manage.py check`` reports all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.module_loading import import_string

from django_notify_tasks.channels import all_channels
from django_notify_tasks.channels.base import Channel, known_names
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.opt_out import OPT_OUT_KEYS, OptOut, parse_opt_out
from django_notify_tasks.snapshots import SnapshotSpec, parse_snapshot, read_by

MODEL_EVENTS = frozenset({"created", "updated", "deleted"})
M2M_EVENTS = frozenset({"m2m_added", "m2m_removed"})
# And one key per channel.
RULE_KEYS = frozenset({"model", "on", "fields", "condition", "snapshot"}) | OPT_OUT_KEYS


@dataclass(frozen=True)
class Rule:
    """One parsed entry of ``NOTIFY_TASKS_RULES``."""

    name: str
    model: type[models.Model]
    events: frozenset[str]
    m2m_field: str | None = None
    fields: frozenset[str] = frozenset()
    tracked_attnames: frozenset[str] = frozenset()
    condition: Callable[[models.Model, str], bool] | None = None
    #: Channel name -> that channel's parsed section (``Channel.parse_section``).
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: ``opt_out``, ``default``, ``label``, ``description``: users' say (docs/recipients.md).
    opt_out: OptOut = OptOut()
    #: What the outbox row keeps of the instance (``snapshots``).
    snapshot: SnapshotSpec = SnapshotSpec()

    @property
    def m2m_through(self) -> type[models.Model] | None:
        """The through model whose ``m2m_changed`` signals this rule listens to."""
        if self.m2m_field is None:
            return None
        return self.model._meta.get_field(self.m2m_field).remote_field.through  # type: ignore[union-attr, no-any-return]


@dataclass(frozen=True)
class ParsedRules:
    """The usable rules by name, and the problems found in the others."""

    rules: dict[str, Rule]
    problems: list[tuple[str, RuleError]]


_cache: tuple[object, object, ParsedRules] | None = None


def current_rules() -> ParsedRules:
    """Parse the live setting, reusing the last result while the settings are the same objects."""
    global _cache
    raw, channels = app_settings.rules, app_settings.channels
    if _cache is None or _cache[0] is not raw or _cache[1] is not channels:
        _cache = (raw, channels, parse_rules(raw))
    return _cache[2]


def parse_rules(raw: object) -> ParsedRules:
    """Parse every rule; invalid ones are left out and reported with their check id."""
    if not isinstance(raw, Mapping):
        error = RuleError(
            "E001",
            f"NOTIFY_TASKS_RULES should be a dict of rule name to rule, not {raw!r}.",
            'Write NOTIFY_TASKS_RULES = {"rule-name": {"model": "app.Model", ...}}.',
        )
        return ParsedRules({}, [("", error)])
    parsed: dict[str, Rule] = {}
    problems: list[tuple[str, RuleError]] = []
    for name, spec in raw.items():
        try:
            parsed[name] = parse_rule(name, spec)
        except RuleError as error:
            problems.append((str(name), error))
    return ParsedRules(parsed, problems)


def parse_rule(name: object, spec: object) -> Rule:
    """Parse one rule or raise ``RuleError`` naming the problem."""
    if not isinstance(name, str) or not name or len(name) > 100:
        raise RuleError(
            "E002", f"Rule names should be strings of 1 to 100 characters, not {name!r}."
        )
    if not isinstance(spec, Mapping):
        raise RuleError("E002", f"Rule {name!r} should be a dict, not {spec!r}.")
    channels = all_channels()
    allowed = RULE_KEYS | {channel.name for channel in channels}
    unknown = set(spec) - allowed
    if unknown:
        raise RuleError(
            "E002",
            f"Rule {name!r} has unknown keys {sorted(unknown)!r}.",
            f"Use only {sorted(allowed)!r}.",
        )
    model, m2m_field = _parse_model(name, spec.get("model"))
    events = _parse_events(name, spec.get("on"), m2m=m2m_field is not None)
    fields, attnames = _parse_fields(name, spec.get("fields"), model, events)
    sections = {
        channel.name: channel.parse_section(
            name, section_of(name, channel.name, spec[channel.name], channel.section_keys), model
        )
        for channel in channels
        if spec.get(channel.name) is not None
    }
    condition = parse_callable(name, "condition", spec.get("condition"))
    if not sections:
        names = " or ".join(repr(channel.name) for channel in channels)
        raise RuleError(
            "E010",
            f"Rule {name!r} should send something but has no channel section ({names}).",
            "Add an 'email' or a 'realtime' section (or another channel's), or remove the rule.",
        )
    return Rule(
        name=name,
        model=model,
        events=events,
        m2m_field=m2m_field,
        fields=fields,
        tracked_attnames=attnames,
        condition=condition,
        sections=sections,
        opt_out=parse_opt_out(name, spec),
        snapshot=(
            parse_snapshot(name, spec["snapshot"], model)
            if "snapshot" in spec
            else read_by(model, None if condition else names_read(sections, channels))
        ),
    )


def names_read(sections: Mapping[str, Any], channels: list[Channel]) -> frozenset[str] | None:
    """The attributes of the instance the rule's channel sections read; None: cannot tell."""
    return known_names(
        *(channel.instance_names(sections[channel.name]) for channel in channels
          if channel.name in sections)
    )  # fmt: skip


def _parse_model(name: str, label: object) -> tuple[type[models.Model], str | None]:
    hint = 'Write "app_label.ModelName", or "app_label.ModelName.m2m_field" for m2m events.'
    if not isinstance(label, str) or label.count(".") not in (1, 2):
        raise RuleError("E003", f"Rule {name!r} should name a model, not {label!r}.", hint)
    app_label, model_name, *rest = label.split(".")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        raise RuleError(
            "E003", f"Rule {name!r} names the model {label!r}, which is not installed.", hint
        ) from None
    if not rest:
        return model, None
    try:
        m2m = model._meta.get_field(rest[0])
    except FieldDoesNotExist:
        m2m = None
    if not isinstance(m2m, models.ManyToManyField):
        raise RuleError(
            "E006",
            f"Rule {name!r}: {rest[0]!r} should be a ManyToManyField of {model.__name__}.",
            hint,
        )
    return model, rest[0]


def _parse_events(name: str, on: object, *, m2m: bool) -> frozenset[str]:
    allowed = M2M_EVENTS if m2m else MODEL_EVENTS
    if isinstance(on, str):
        on = [on]
    if not isinstance(on, list | tuple) or not on:
        raise RuleError(
            "E004",
            f"Rule {name!r}: 'on' should be a non-empty list of events, not {on!r}.",
            f"Use events from {sorted(allowed)!r}.",
        )
    bad = [event for event in on if event not in allowed]
    if bad:
        kind = "a many-to-many field" if m2m else "a model"
        raise RuleError(
            "E004",
            f"Rule {name!r}: {bad!r} are not events of {kind}.",
            f"Use events from {sorted(allowed)!r}.",
        )
    return frozenset(on)


def _parse_fields(
    name: str, fields: object, model: type[models.Model], events: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    if fields is None:
        return frozenset(), frozenset()
    if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
        raise RuleError("E005", f"Rule {name!r}: 'fields' should be a list of field names.")
    if "updated" not in events:
        raise RuleError(
            "E005",
            f"Rule {name!r}: 'fields' only applies to the 'updated' event.",
            "Add 'updated' to 'on', or remove 'fields'.",
        )
    attnames = []
    for field_name in fields:
        try:
            model_field = model._meta.get_field(field_name)
        except FieldDoesNotExist:
            model_field = None
        if not isinstance(model_field, models.Field) or not model_field.concrete:
            raise RuleError(
                "E005",
                f"Rule {name!r}: {field_name!r} should be a concrete field of {model.__name__}.",
            )
        attnames.append(model_field.attname)
    return frozenset(fields), frozenset(attnames)


def section_of(
    name: str, key: str, spec: object, allowed: frozenset[str] | None
) -> Mapping[str, Any]:
    """``spec`` as a dict with only ``allowed`` keys (None: any), or E002 naming the rule."""
    if not isinstance(spec, Mapping):
        raise RuleError("E002", f"Rule {name!r}: {key!r} should be a dict, not {spec!r}.")
    unknown = set() if allowed is None else set(spec) - allowed
    if allowed is not None and unknown:
        raise RuleError(
            "E002",
            f"Rule {name!r}: {key!r} has unknown keys {sorted(unknown)!r}.",
            f"Use only {sorted(allowed)!r}.",
        )
    return spec


def parse_callable(name: str, key: str, value: object) -> Any:
    if value is None or callable(value):
        return value
    if not isinstance(value, str):
        raise RuleError("E009", f"Rule {name!r}: {key!r} should be a callable or a dotted path.")
    try:
        found = import_string(value)
    except ImportError as exc:
        raise RuleError(
            "E009",
            f"Rule {name!r}: {key!r} {value!r} cannot be imported ({exc}).",
            "Give the dotted path of a function, e.g. 'myapp.notifications.recipients'.",
        ) from None
    if not callable(found):
        raise RuleError("E009", f"Rule {name!r}: {key!r} {value!r} is not callable.")
    return found
