"""Every system check of the package, registered from this one place by ``ready()``.

Ids are ``django_notify_tasks.E0xx`` and ``W0xx``, listed in docs/checks.md. Each area has
a module of its own; a channel's checks of its settings live in the channel
(``Channel.check``) and run from ``check_channels``.
"""

from __future__ import annotations

from django.core import checks

from django_notify_tasks.checks.beat import check_beat, check_database_scheduler
from django_notify_tasks.checks.broker import check_broker
from django_notify_tasks.checks.channels import check_channels
from django_notify_tasks.checks.dispatch import check_dispatch
from django_notify_tasks.checks.people import check_people
from django_notify_tasks.checks.reports import check_reports
from django_notify_tasks.checks.rules import check_rules
from django_notify_tasks.checks.settings import check_settings

ALL_CHECKS = (
    check_settings,
    check_dispatch,
    check_broker,
    check_rules,
    check_channels,
    check_beat,
    check_database_scheduler,
    check_reports,
    check_people,
)


def register_checks() -> None:
    """Register every check with Django (once: ``register`` keeps a set)."""
    for check in ALL_CHECKS:
        checks.register(check)
