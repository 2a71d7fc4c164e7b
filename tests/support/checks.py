"""The package's own system check messages, without Django's: on Django 6 ``run_checks()``
also runs database checks, which a test with access to one database may not make."""

from __future__ import annotations

from django.core.checks import CheckMessage

from django_notify_tasks.checks.registry import ALL_CHECKS


def package_messages() -> list[CheckMessage]:
    return [message for check in ALL_CHECKS for message in check()]
