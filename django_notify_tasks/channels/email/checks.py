"""System checks of the email channel's settings."""

from __future__ import annotations

import django
from django.core.checks import CheckMessage, Error

from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings


def check_mailer() -> list[CheckMessage]:
    """On Django 6.1+ with MAILERS, the alias the package sends through must exist (E017)."""
    alias = app_settings.mailer
    mailers = app_settings.django_mailers
    if django.VERSION < (6, 1) or mailers is None or alias in mailers:
        return []
    return [
        Error(
            f"NOTIFY_TASKS_MAILER should name a mailer in MAILERS, not {alias!r}.",
            hint=f"Use one of {sorted(mailers)!r}, or add {alias!r} to MAILERS.",
            id=f"{PREFIX}.E017",
        )
    ]
