"""Checks of what reaching people needs: absolute unsubscribe links (E024), the recipient
language callable (E025), the base template of the preference pages (W010)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings
from django_notify_tasks.rules import current_rules


def check_people(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E024, E025 and W010."""
    return _check_site_url() + _check_language() + _check_base_template()


def _check_site_url() -> list[CheckMessage]:
    opt_out = sorted(name for name, rule in current_rules().rules.items() if rule.opt_out.allowed)
    if not opt_out:
        return []
    site = app_settings.site_url
    parts = urlsplit(site) if isinstance(site, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        return [
            Error(
                f"NOTIFY_TASKS_SITE_URL should be the scheme and host of the site, not "
                f"{site!r}: the opt-out rules {opt_out!r} put absolute unsubscribe links in "
                "their messages.",
                hint='Set NOTIFY_TASKS_SITE_URL = "https://example.com" (no path).',
                id=f"{PREFIX}.E024",
            )
        ]
    try:
        reverse("django_notify_tasks:unsubscribe", args=["token"])
    except NoReverseMatch:
        return [
            Error(
                "The URLs of django_notify_tasks should be included: the opt-out rules "
                f"{opt_out!r} link to its unsubscribe page.",
                hint='Add path("notifications/", include("django_notify_tasks.urls")) to '
                "your ROOT_URLCONF.",
                id=f"{PREFIX}.E024",
            )
        ]
    return []


def _check_language() -> list[CheckMessage]:
    path = app_settings.recipient_language
    if path is None:
        return []
    try:
        found = import_string(path) if isinstance(path, str) else None
    except ImportError as exc:
        found, reason = None, f"cannot be imported ({exc})"
    else:
        reason = "is not callable"
    if callable(found):
        return []
    return [
        Error(
            f"NOTIFY_TASKS_RECIPIENT_LANGUAGE should be the dotted path of a callable, not "
            f"{path!r}: it {reason}.",
            hint='Point it at a function (user) -> language code or None, e.g. "myapp.'
            'notifications.language_of".',
            id=f"{PREFIX}.E025",
        )
    ]


def _check_base_template() -> list[CheckMessage]:
    name = app_settings.base_template
    if name is None:
        return []
    try:
        get_template(name)
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        return [
            Warning(
                f"NOTIFY_TASKS_BASE_TEMPLATE should name a template that loads, not {name!r} "
                f"({type(exc).__name__}): the preference pages extend it.",
                hint="Give a template with a {% block content %}, or remove the setting to use "
                "the package's plain page.",
                id=f"{PREFIX}.W010",
            )
        ]
    return []
