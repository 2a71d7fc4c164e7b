"""What an email says: subject, text and HTML rendered from the rule's templates."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

from django_notify_tasks.channels import rendering
from django_notify_tasks.channels.email.spec import EmailSpec
from django_notify_tasks.channels.rendering import template_errors
from django_notify_tasks.channels.template_names import names_recipient, parts_instance_names


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    html: str


def render_email(spec: EmailSpec, context: dict[str, Any]) -> RenderedEmail:
    """Render subject, text and optional HTML; any template problem is permanent."""
    with template_errors():
        subject = _render(spec, "subject", context)
        body = _render(spec, "body", context)
        html = _render(spec, "html", context)
    # Headers cannot hold newlines: a subject template may end with one, or span lines.
    return RenderedEmail(" ".join(subject.split()), body, html)


def template_problems(spec: EmailSpec) -> list[str]:
    """What is wrong with the templates of ``spec``, for the system check."""
    return rendering.template_problems(functools.partial(_load, spec), ("subject", "body", "html"))


def uses_recipient(spec: EmailSpec) -> bool:
    """Whether any template of ``spec`` names ``recipient`` or ``unsubscribe_url``: then each
    recipient gets a rendering of their own; otherwise one rendering serves them all."""
    for part in ("subject", "body", "html"):
        try:
            template = _load(spec, part)
        except (TemplateDoesNotExist, TemplateSyntaxError):
            return False  # it fails for everyone alike: rendering reports it in one row
        if template is not None and names_recipient(template):
            return True
    return False


def instance_names(spec: EmailSpec) -> frozenset[str] | None:
    """The attributes of ``instance`` the templates of ``spec`` read; None: cannot tell."""
    return parts_instance_names(functools.partial(_load, spec), ("subject", "body", "html"))


def compile_source(engine: Engine, source: str) -> Any:
    """An inline template, compiled once per engine and source."""
    return _compiled(engine, source)


_TEMPLATE_SUFFIXES = {"subject": "_subject.txt", "body": ".txt", "html": ".html"}


def template_engine() -> Engine:
    """The project's Django template engine, or a private one for projects without one."""
    try:
        return Engine.get_default()
    except ImproperlyConfigured:
        return _fallback_engine()


@functools.cache
def _fallback_engine() -> Engine:
    # API-only projects often configure no TEMPLATES; app templates still work this way.
    return Engine(app_dirs=True)


def _load(spec: EmailSpec, part: str) -> Any:
    engine = template_engine()
    if spec.template is None:
        source = getattr(spec, part)
        return None if source is None else _compiled(engine, source)
    name = spec.template + _TEMPLATE_SUFFIXES[part]
    if part != "html":
        return engine.get_template(name)
    try:
        return engine.get_template(name)
    except TemplateDoesNotExist:
        return None  # the HTML part is optional


@functools.lru_cache(maxsize=256)
def _compiled(engine: Engine, source: str) -> Any:
    # Compiled once per rule and engine, as Django's cached loader does for template files;
    # a changed TEMPLATES setting makes a new engine, so it is compiled anew there.
    return engine.from_string(source)


def _render(spec: EmailSpec, part: str, context: dict[str, Any]) -> str:
    template = _load(spec, part)
    if template is None:
        return ""
    return template.render(Context(context, autoescape=part == "html"))  # type: ignore[no-any-return]
