"""Users' preferences: read and set one, list a user's, and apply them to a batch of rows.

Only rules with ``"opt_out": True`` have preferences; every other rule is always sent. A
user without a row for a rule's channel has the rule's ``default`` (on unless
``"default": "off"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from django_notify_tasks.channels import get_channel
from django_notify_tasks.models import Delivery, Preference
from django_notify_tasks.rules import Rule, current_rules


@dataclass(frozen=True)
class PreferenceState:
    """One line of a user's preferences: a channel of an opt-out rule, on or off."""

    rule: str
    channel: str
    label: str
    description: str
    enabled: bool


def is_enabled(user: Any, rule: str, channel: str) -> bool:
    """Whether ``user`` gets ``channel`` of ``rule`` (always True for a rule without opt-out)."""
    found = current_rules().rules.get(rule)
    if found is None or not found.opt_out.allowed:
        return True
    stored = (
        Preference.objects.filter(user=user, rule=rule, channel=channel)
        .values_list("enabled", flat=True)
        .first()
    )
    return found.opt_out.default_on if stored is None else stored


def set_enabled(user: Any, rule: str, channel: str, enabled: bool) -> None:
    """Turn ``channel`` of ``rule`` on or off for ``user``; ``ValueError`` for a rule that is
    not an opt-out rule with that channel (its mail is always sent)."""
    found = current_rules().rules.get(rule)
    if found is None or not found.opt_out.allowed or channel not in switchable(found):
        raise ValueError(f"{rule!r} has no channel {channel!r} a user may turn off")
    Preference.objects.update_or_create(
        user=user, rule=rule, channel=channel, defaults={"enabled": enabled}
    )


def user_preferences(user: Any) -> list[PreferenceState]:
    """Every channel of every opt-out rule, with the user's choice or the rule's default."""
    rows = Preference.objects.filter(user=user).values_list("rule", "channel", "enabled")
    stored = {(rule, channel): enabled for rule, channel, enabled in rows}
    return [
        PreferenceState(
            rule.name,
            channel,
            rule.opt_out.label or rule.name,
            rule.opt_out.description,
            stored.get((rule.name, channel), rule.opt_out.default_on),
        )
        for rule in opt_out_rules()
        for channel in switchable(rule)
    ]


def switchable(rule: Rule) -> list[str]:
    """The channels of ``rule`` a user's preference turns off: those whose rows are for
    users (not realtime, which publishes to whoever subscribed)."""
    return [name for name in rule.sections if get_channel(name).reaches_users]


def rule_label(rule: str) -> str:
    """The rule's ``label``, or its name."""
    found = current_rules().rules.get(rule)
    return (found.opt_out.label if found else "") or rule


def opt_out_rules() -> list[Rule]:
    """The rules users may turn off, by name."""
    rules = current_rules().rules
    return [rules[name] for name in sorted(rules) if rules[name].opt_out.allowed]


def skip_opted_out(rows: Iterable[Delivery], using: str) -> None:
    """Turn the pending rows of users who do not want them into skipped rows, reading the
    preferences of the whole batch in one query (none when no row is of an opt-out rule)."""
    rules = current_rules().rules
    candidates = [
        row
        for row in rows
        if row.user_id is not None
        and row.status == Delivery.Status.PENDING
        and (rule := rules.get(row.notification.rule)) is not None
        and rule.opt_out.allowed
    ]
    if not candidates:
        return
    wanted = Q()
    for rule_name in {row.notification.rule for row in candidates}:
        users = {row.user_id for row in candidates if row.notification.rule == rule_name}
        wanted |= Q(rule=rule_name, user_id__in=users)
    stored: dict[tuple[Any, str, str], bool] = {
        (user_id, rule, channel): enabled
        for user_id, rule, channel, enabled in Preference.objects.using(using)
        .filter(wanted)
        .values_list("user_id", "rule", "channel", "enabled")
    }
    for row in candidates:
        rule = rules[row.notification.rule]
        key = (row.user_id, rule.name, row.channel)
        if not stored.get(key, rule.opt_out.default_on):
            _skip(row, "the user turned this off" if key in stored else "off by default")


def _skip(row: Delivery, reason: str) -> None:
    row.status, row.error = Delivery.Status.SKIPPED, f"not sent: {reason}"
    row.subject = row.body = row.html = ""  # nobody reads it; the log stays small
    row.options = {}
