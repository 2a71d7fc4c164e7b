"""What an inbox item says: title, body and link rendered from the rule's templates.

Inline templates or files (``<template>_title.txt``, ``<template>.txt``, optional
``<template>_url.txt``), compiled and searched for ``recipient`` as the email channel does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.template import Context, TemplateDoesNotExist, TemplateSyntaxError

from django_notify_tasks.channels import rendering
from django_notify_tasks.channels.email.content import compile_source, template_engine
from django_notify_tasks.channels.inapp.spec import InappSpec
from django_notify_tasks.channels.template_names import names_recipient, parts_instance_names

PARTS = ("title", "body", "url")
_SUFFIXES = {"title": "_title.txt", "body": ".txt", "url": "_url.txt"}
TITLE_LENGTH = 255  # InboxItem.title


@dataclass(frozen=True)
class RenderedItem:
    title: str
    body: str
    url: str


def render_item(spec: InappSpec, context: dict[str, Any]) -> RenderedItem:
    """Render the three parts; any template problem is permanent."""
    with rendering.template_errors():
        title, body, url = (_render(spec, part, context) for part in PARTS)
    return RenderedItem(" ".join(title.split())[:TITLE_LENGTH], body.strip(), url.strip())


def template_problems(spec: InappSpec) -> list[str]:
    """What is wrong with the templates of ``spec``, for the system check."""
    return rendering.template_problems(functools.partial(_load, spec), PARTS)


def uses_recipient(spec: InappSpec) -> bool:
    """Whether a template names ``recipient``: then each user gets a rendering of their own."""
    for part in PARTS:
        try:
            template = _load(spec, part)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            return True  # rendering reports it, row by row
        if template is not None and names_recipient(template):
            return True
    return False


def instance_names(spec: InappSpec) -> frozenset[str] | None:
    """The attributes of ``instance`` the templates of ``spec`` read; None: cannot tell."""
    return parts_instance_names(functools.partial(_load, spec), PARTS)


def _load(spec: InappSpec, part: str) -> Any:
    engine = template_engine()
    if spec.template is None:
        source = getattr(spec, part)
        return None if source is None else compile_source(engine, source)
    name = spec.template + _SUFFIXES[part]
    if part == "title":
        return engine.get_template(name)
    try:
        return engine.get_template(name)
    except TemplateDoesNotExist:
        return None  # the body and the link are optional


def _render(spec: InappSpec, part: str, context: dict[str, Any]) -> str:
    template = _load(spec, part)
    if template is None:
        return ""
    # Plain text, like an email's text part: the page escapes it when it shows it.
    return template.render(Context(context, autoescape=False))  # type: ignore[no-any-return]
