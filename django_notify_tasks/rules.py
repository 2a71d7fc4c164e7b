"""Parse and validate ``NOTIFY_TASKS_RULES`` into frozen dataclasses.

Parsing never raises for a bad rule: it returns the problems (with their check ids) beside the
rules that are usable, so ``ready()`` cannot fail at import and ``manage.py check`` reports all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.module_loading import import_string

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import RuleError

MODEL_EVENTS = frozenset({"created", "updated", "deleted"})
M2M_EVENTS = frozenset({"m2m_added", "m2m_removed"})
RULE_KEYS = frozenset({"model", "on", "fields", "condition", "email", "realtime"})
EMAIL_KEYS = frozenset({"to", "template", "subject", "body", "html"})
REALTIME_KEYS = frozenset({"channels", "data"})
# Channel templates allow attribute access only: "personal:#{instance.chat.admin_id}".
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDER_PATH = re.compile(r"^(instance|related|notification)(\.[A-Za-z_]\w*)*$")

Recipient = str | Callable[[models.Model], Any]


@dataclass(frozen=True)
class EmailSpec:
    """Where an email goes and what it says."""

    to: tuple[Recipient, ...] | Callable[[models.Model], Any]
    template: str | None = None
    subject: str | None = None
    body: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class RealtimeSpec:
    """Which Centrifugo channels get the notification, and with what data."""

    channels: tuple[str, ...]
    data: Callable[[models.Model, str], Any] | None = None


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
    email: EmailSpec | None = None
    realtime: RealtimeSpec | None = None

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


_cache: tuple[object, ParsedRules] | None = None


def current_rules() -> ParsedRules:
    """Parse the live setting, reusing the last result while the setting is the same object."""
    global _cache
    raw = app_settings.rules
    if _cache is None or _cache[0] is not raw:
        _cache = (raw, parse_rules(raw))
    return _cache[1]


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
    unknown = set(spec) - RULE_KEYS
    if unknown:
        raise RuleError(
            "E002",
            f"Rule {name!r} has unknown keys {sorted(unknown)!r}.",
            f"Use only {sorted(RULE_KEYS)!r}.",
        )
    model, m2m_field = _parse_model(name, spec.get("model"))
    events = _parse_events(name, spec.get("on"), m2m=m2m_field is not None)
    fields, attnames = _parse_fields(name, spec.get("fields"), model, events)
    email = _parse_email(name, spec["email"], model) if spec.get("email") is not None else None
    realtime = _parse_realtime(name, spec["realtime"], model) if spec.get("realtime") else None
    if email is None and realtime is None:
        raise RuleError(
            "E010",
            f"Rule {name!r} should send something but has neither 'email' nor 'realtime'.",
            "Add an 'email' or a 'realtime' section, or remove the rule.",
        )
    return Rule(
        name=name,
        model=model,
        events=events,
        m2m_field=m2m_field,
        fields=fields,
        tracked_attnames=attnames,
        condition=_parse_callable(name, "condition", spec.get("condition")),
        email=email,
        realtime=realtime,
    )


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


def _section(name: str, key: str, spec: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    """``spec`` as a dict with only ``allowed`` keys, or E002 naming the rule and the key."""
    if not isinstance(spec, Mapping):
        raise RuleError("E002", f"Rule {name!r}: {key!r} should be a dict, not {spec!r}.")
    unknown = set(spec) - allowed
    if unknown:
        raise RuleError(
            "E002",
            f"Rule {name!r}: {key!r} has unknown keys {sorted(unknown)!r}.",
            f"Use only {sorted(allowed)!r}.",
        )
    return spec


def _parse_email(name: str, spec: object, model: type[models.Model]) -> EmailSpec:
    spec = _section(name, "email", spec, EMAIL_KEYS)
    has_template = spec.get("template") is not None
    has_inline = any(spec.get(key) is not None for key in ("subject", "body", "html"))
    if has_template == has_inline or (
        has_inline and not (spec.get("subject") and spec.get("body"))
    ):
        raise RuleError(
            "E008",
            f"Rule {name!r}: 'email' should have either 'template' or both 'subject' and 'body'.",
            'Give "template": "app/email/name" (files <name>_subject.txt, <name>.txt, '
            'optional <name>.html) or inline "subject" and "body" templates.',
        )
    return EmailSpec(
        to=_parse_recipients(name, spec.get("to"), model),
        template=spec.get("template"),
        subject=spec.get("subject"),
        body=spec.get("body"),
        html=spec.get("html"),
    )


def _parse_recipients(
    name: str, to: object, model: type[models.Model]
) -> tuple[Recipient, ...] | Callable[[models.Model], Any]:
    if isinstance(to, str) or callable(to):
        return _parse_callable(name, "email.to", to)  # type: ignore[no-any-return]
    if not isinstance(to, list | tuple) or not to:
        raise RuleError(
            "E007",
            f"Rule {name!r}: 'email.to' should be a non-empty list, not {to!r}.",
            'List attribute paths ("chat.admin.email"), addresses, or give a callable.',
        )
    for entry in to:
        if isinstance(entry, str) and "@" not in entry:
            validate_path(name, model, entry)
        elif not isinstance(entry, str) and not callable(entry):
            raise RuleError(
                "E007", f"Rule {name!r}: {entry!r} in 'email.to' is not a path or address."
            )
    return tuple(to)


def _parse_realtime(name: str, spec: object, model: type[models.Model]) -> RealtimeSpec:
    spec = _section(name, "realtime", spec, REALTIME_KEYS)
    channels = spec.get("channels")
    if isinstance(channels, str):
        channels = [channels]
    if not isinstance(channels, list | tuple) or not channels:
        raise RuleError(
            "E012",
            f"Rule {name!r}: 'realtime.channels' should be a non-empty list, not {channels!r}.",
            'List channel templates such as "chats:{instance.chat_id}".',
        )
    for channel in channels:
        _validate_channel_template(name, channel, model)
    return RealtimeSpec(tuple(channels), _parse_callable(name, "realtime.data", spec.get("data")))


def _validate_channel_template(name: str, channel: object, model: type[models.Model]) -> None:
    hint = (
        'Write channels like "chats:{instance.chat_id}" or "personal:#{instance.user_id}": '
        "placeholders are attribute paths on instance, related or notification."
    )
    if not isinstance(channel, str) or not channel:
        raise RuleError("E012", f"Rule {name!r}: channel {channel!r} should be a string.", hint)
    if PLACEHOLDER.sub("", channel).count("{") or PLACEHOLDER.sub("", channel).count("}"):
        raise RuleError("E012", f"Rule {name!r}: channel {channel!r} has unbalanced braces.", hint)
    for path in PLACEHOLDER.findall(channel):
        if not PLACEHOLDER_PATH.match(path):
            raise RuleError(
                "E012", f"Rule {name!r}: {{{path}}} in channel {channel!r} is not allowed.", hint
            )
        root, _, rest = path.partition(".")
        if root == "instance" and rest:
            validate_path(name, model, rest, check_id="E012")


def validate_path(name: str, model: type[models.Model], path: str, check_id: str = "E007") -> None:
    """Check each step of ``path`` on the model classes, as far as relations lead."""
    current: type[models.Model] | None = model
    for part in path.split("."):
        if current is None:
            return  # past a plain attribute the type is unknown; resolved in the worker
        try:
            step = current._meta.get_field(part)
        except FieldDoesNotExist:
            if not part.isidentifier() or not hasattr(current, part):
                raise RuleError(
                    check_id,
                    f"Rule {name!r}: {path!r} cannot be resolved: {part!r} is not a field "
                    f"or attribute of {current.__name__}.",
                    f"Use fields and attributes of {current._meta.label}.",
                ) from None
            current = None
            continue
        if not hasattr(current, part):  # a reverse relation's query name, not its accessor
            raise RuleError(
                check_id,
                f"Rule {name!r}: {path!r} cannot be resolved: {current.__name__} has no "
                f"attribute {part!r}.",
                f"Use the accessor name (e.g. {part}_set), not the query name.",
            )
        current = step.related_model if step.is_relation else None


def _parse_callable(name: str, key: str, value: object) -> Any:
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
