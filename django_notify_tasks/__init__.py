"""Model events to email and Centrifugo notifications through Celery."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["__version__", "notify", "notify_bulk"]

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import Model


def notify(
    rule_name: str,
    instance: Model,
    *,
    event: str = "manual",
    related: Model | None = None,
    using: str | None = None,
) -> list[int]:
    """Record a notification for ``rule_name`` as a signal would; returns the new ids."""
    from django_notify_tasks.recording import record

    return record(rule_name, [instance], event=event, related=related, using=using)


def notify_bulk(
    rule_name: str, instances: Iterable[Model], *, event: str = "manual", using: str | None = None
) -> list[int]:
    """Record one notification per instance with a single INSERT; returns the new ids."""
    from django_notify_tasks.recording import record

    return record(rule_name, list(instances), event=event, using=using)
