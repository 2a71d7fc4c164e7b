"""Known data for report tests: deliveries with chosen rules, statuses and delivery times."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from django_notify_tasks.models import Delivery, Notification


def record_delivery(
    rule: str,
    channel: str = "email",
    status: str = "sent",
    *,
    at: datetime | None = None,
    delay: float | None = None,
    error: str = "",
) -> Delivery:
    """A notification created ``at`` (default: an hour ago) and one delivery of it.

    A sent delivery's ``sent_at`` is ``delay`` seconds (default 1) after the notification.
    """
    at = at or timezone.now() - timedelta(hours=1)
    notification = Notification.objects.create(
        rule=rule, event="created", model="testapp.membership", object_pk="1", status="processed"
    )
    Notification.objects.filter(pk=notification.pk).update(created_at=at)
    sent_at = at + timedelta(seconds=1 if delay is None else delay) if status == "sent" else None
    return Delivery.objects.create(
        notification=notification,
        channel=channel,
        target=f"{rule}-{notification.pk}@chat.example" if channel == "email" else "chats:1",
        status=status,
        sent_at=sent_at,
        error=error,
    )
