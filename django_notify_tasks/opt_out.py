"""A rule's opt-out keys: ``opt_out``, ``default``, ``label`` and ``description``.

Parsed with the rule (``rules.parse_rule``); a mistake is a ``RuleError`` with its check id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django_notify_tasks.exceptions import RuleError

OPT_OUT_KEYS = frozenset({"opt_out", "default", "label", "description"})


@dataclass(frozen=True)
class OptOut:
    """Whether users may turn the rule's channels off, and how the preferences page shows it."""

    allowed: bool = False
    default_on: bool = True
    label: str = ""
    description: str = ""


def parse_opt_out(name: str, spec: Mapping[str, Any]) -> OptOut:
    """The opt-out keys of rule ``name``, or ``RuleError`` (E021, E022, E023)."""
    allowed = spec.get("opt_out", False)
    if not isinstance(allowed, bool):
        raise RuleError(
            "E021",
            f"Rule {name!r}: 'opt_out' should be True or False, not {allowed!r}.",
            'Write "opt_out": True to let users turn the rule off; leave it out for '
            "transactional mail (passwords, security), which is always sent.",
        )
    default = spec.get("default", "on")
    if default not in ("on", "off") or (default == "off" and not allowed):
        raise RuleError(
            "E022",
            f'Rule {name!r}: \'default\' should be "on" or "off" on an opt-out rule, '
            f"not {default!r}" + ("" if allowed else " on a rule without 'opt_out'") + ".",
            'Write "default": "off" (users opt in) beside "opt_out": True, or remove it.',
        )
    texts = {key: spec.get(key, "") for key in ("label", "description")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise RuleError(
                "E023",
                f"Rule {name!r}: {key!r} should be a string, not {value!r}.",
                "Give the text the preferences page shows for the rule.",
            )
    return OptOut(allowed, default == "on", texts["label"], texts["description"])
