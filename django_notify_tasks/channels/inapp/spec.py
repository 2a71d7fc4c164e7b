"""The ``inapp`` section of a rule: which users get an inbox item and what it says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.paths import validate_path
from django_notify_tasks.rules import parse_callable

INAPP_KEYS = frozenset({"to", "template", "title", "body", "url"})
ToEntry = str | Callable[[models.Model], Any]


@dataclass(frozen=True)
class InappSpec:
    """Who gets an item (users only) and the templates of its title, body and link."""

    to: tuple[ToEntry, ...] | Callable[[models.Model], Any]
    template: str | None = None
    title: str | None = None
    body: str | None = None
    url: str | None = None


def parse_inapp_section(
    name: str, spec: Mapping[str, Any], model: type[models.Model]
) -> InappSpec:
    has_template = spec.get("template") is not None
    has_inline = any(spec.get(key) is not None for key in ("title", "body", "url"))
    if has_template == has_inline or (has_inline and not spec.get("title")):
        raise RuleError(
            "E026",
            f"Rule {name!r}: 'inapp' should have either 'template' or a 'title'.",
            'Give "template": "app/inapp/name" (files <name>_title.txt, <name>.txt, optional '
            '<name>_url.txt) or an inline "title" template (and optional "body" and "url").',
        )
    return InappSpec(
        to=_parse_users(name, spec.get("to"), model),
        template=spec.get("template"),
        title=spec.get("title"),
        body=spec.get("body"),
        url=spec.get("url"),
    )


def _parse_users(
    name: str, to: object, model: type[models.Model]
) -> tuple[ToEntry, ...] | Callable[[models.Model], Any]:
    if isinstance(to, str) or callable(to):
        return parse_callable(name, "inapp.to", to)  # type: ignore[no-any-return]
    if not isinstance(to, list | tuple) or not to:
        raise RuleError(
            "E026",
            f"Rule {name!r}: 'inapp.to' should be a non-empty list, not {to!r}.",
            'List attribute paths to users ("chat.admin", "chat.members"), or give a callable.',
        )
    for entry in to:
        if isinstance(entry, str) and "@" in entry:
            raise RuleError(
                "E026",
                f"Rule {name!r}: {entry!r} in 'inapp.to' is an address; the inbox is for users.",
                "Give a path to a user instead.",
            )
        if isinstance(entry, str):
            validate_path(name, model, entry, "E026")
        elif not callable(entry):
            raise RuleError("E026", f"Rule {name!r}: {entry!r} in 'inapp.to' is not a path.")
    return tuple(to)
