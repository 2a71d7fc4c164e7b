"""Checks of ``NOTIFY_TASKS_RULES``: what parsing found (E001-E012), and what only loading
the templates shows (E008)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from django_notify_tasks.channels import get_channel
from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.rules import current_rules


def check_rules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every problem in ``NOTIFY_TASKS_RULES``, including templates that do not load."""
    parsed = current_rules()
    messages: list[CheckMessage] = [
        Error(
            error.message,
            hint=error.hint,
            obj="NOTIFY_TASKS_RULES",
            id=f"{PREFIX}.{error.check_id}",
        )
        for _, error in parsed.problems
    ]
    for rule in parsed.rules.values():
        for name, spec in rule.sections.items():
            messages += [
                Error(
                    f"Rule {rule.name!r}: {problem}.",
                    hint="Create the template, or fix it, or give inline 'subject' and 'body'.",
                    obj="NOTIFY_TASKS_RULES",
                    id=f"{PREFIX}.E008",
                )
                for problem in get_channel(name).section_problems(rule.name, spec)
            ]
    return messages
