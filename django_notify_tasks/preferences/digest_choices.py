"""Users' choice between immediate mail and the digest, where a rule allows both.

A rule allows both when its section says ``"digest": {"default": "immediate" | "digest", ...}``.
The choice is a ``Preference`` row whose channel is the section's channel with ``:digest``
after it; ``enabled`` means digest. No row: the rule's ``default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_notify_tasks.models import Preference
from django_notify_tasks.rules import current_rules


@dataclass(frozen=True)
class DigestChoice:
    """One line of the preferences page: a rule's channel, sent at once or in the digest."""

    rule: str
    channel: str
    label: str
    description: str
    digest: bool


def digest_key(channel: str) -> str:
    """``Preference.channel`` of the digest choice for ``channel``."""
    return f"{channel}:digest"


def wants_digest(user: Any, rule: str, channel: str) -> bool:
    """Whether ``user`` gets ``channel`` of ``rule`` in their digest (the rule's own say when
    it does not let users choose)."""
    digest = _digest(rule, channel)
    if digest is None:
        return False
    if not digest.choosable:
        return True
    stored = (
        Preference.objects.filter(user=user, rule=rule, channel=digest_key(channel))
        .values_list("enabled", flat=True)
        .first()
    )
    return bool(digest.default_digest if stored is None else stored)


def set_digest(user: Any, rule: str, channel: str, digest: bool) -> None:
    """Send ``channel`` of ``rule`` to ``user`` in their digest (True) or at once (False);
    ``ValueError`` where the rule does not let users choose."""
    found = _digest(rule, channel)
    if found is None or not found.choosable:
        raise ValueError(f"{rule!r} does not let users choose a digest for {channel!r}")
    Preference.objects.update_or_create(
        user=user, rule=rule, channel=digest_key(channel), defaults={"enabled": digest}
    )


def digest_choices(user: Any) -> list[DigestChoice]:
    """Every channel of every rule that lets users choose, with the user's choice or the
    rule's default; one query."""
    rows = Preference.objects.filter(user=user, channel__endswith=":digest")
    stored = {(r, c): on for r, c, on in rows.values_list("rule", "channel", "enabled")}
    rules = current_rules().rules
    return [
        DigestChoice(
            name,
            channel,
            rules[name].opt_out.label or name,
            rules[name].opt_out.description,
            stored.get((name, digest_key(channel)), digest.default_digest),
        )
        for name in sorted(rules)
        for channel, section in rules[name].sections.items()
        if (digest := getattr(section, "digest", None)) is not None and digest.choosable
    ]


def _digest(rule: str, channel: str) -> Any:
    found = current_rules().rules.get(rule)
    section = found.sections.get(channel) if found is not None else None
    return getattr(section, "digest", None)
