"""Known data for dashboard tests: deliveries made at chosen times, with chosen delays."""

from __future__ import annotations

from datetime import datetime, timedelta

from django_notify_tasks.models import Delivery
from tests.support.reports_data import record_delivery


def delivery_at(
    at: datetime,
    rule: str = "member-joined",
    channel: str = "email",
    status: str = "sent",
    *,
    delay: float = 1,
    error: str = "",
) -> Delivery:
    """A notification created ``at``, its delivery made at the same time and, when sent,
    sent ``delay`` seconds later."""
    delivery = record_delivery(rule, channel, status, at=at, delay=delay, error=error)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=at)
    return delivery


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
