"""Send one test email (and publication) now, through the path a worker's deliveries take.

The message is recorded like any other (a Notification with rule ``SMOKE_RULE`` and its
Delivery rows), so it shows in the admin with its Message-ID or error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.mail.utils import DNS_NAME
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from django_notify_tasks import deliveries, email, realtime
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError, PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.tasks import Sender

SMOKE_RULE = "notify_tasks_send_test"
SUBJECT = "django-notify-tasks test message"
SENDERS: dict[str, Sender] = {
    Delivery.Channel.EMAIL: email.send_each,
    Delivery.Channel.REALTIME: realtime.publish_each,
}


class SmokeTestError(NotifyTasksError, ValueError):
    """The address or channel cannot be used, or realtime is off."""


def send_test(to: str, channel: str | None = None) -> list[Delivery]:
    """Record and send one email to ``to`` (and one publication to ``channel``); return them."""
    rows = _build(to, channel)
    for row in rows:
        row.save()
    for kind, send_each in SENDERS.items():
        ids = [row.pk for row in rows if row.channel == kind]
        if ids:
            outcome = deliveries.Outcome()
            claimed = deliveries.claim(ids, kind, DEFAULT_DB_ALIAS)
            send_each(claimed, _on_sent(kind, outcome), _on_error(outcome))
    return list(Delivery.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk"))


def _build(to: str, channel: str | None) -> list[Delivery]:
    try:
        address = email.check_address(to)
        if channel is not None:
            realtime.check_channel(channel)
    except PermanentDeliveryError as exc:
        raise SmokeTestError(str(exc)) from exc
    if channel is not None and not app_settings.centrifugo_api_url:
        raise SmokeTestError("--channel needs NOTIFY_TASKS_CENTRIFUGO_API_URL: realtime is off.")
    now = timezone.now()
    notification = Notification.objects.create(
        rule=SMOKE_RULE,
        event="test",
        model="",
        object_pk="",
        status=Notification.Status.PROCESSED,
        processed_at=now,
    )
    body = f"Sent by manage.py {SMOKE_RULE} on {DNS_NAME} at {now:%Y-%m-%d %H:%M:%S %Z}."
    rows = [_row(notification, Delivery.Channel.EMAIL, address, subject=SUBJECT, body=body)]
    if channel is not None:
        payload = {"notification": notification.pk, "rule": SMOKE_RULE, "text": SUBJECT}
        data = json.dumps({**payload, "created_at": now}, cls=DjangoJSONEncoder)
        rows.append(_row(notification, Delivery.Channel.REALTIME, channel, body=data))
    return rows


def _row(notification: Notification, channel: str, target: str, **content: str) -> Delivery:
    return Delivery(notification=notification, channel=channel, target=target, **content)


def _on_sent(kind: str, outcome: deliveries.Outcome) -> Callable[[Delivery], None]:
    def sent(delivery: Delivery) -> None:
        extra = {"message_id": email.message_id(delivery)} if kind == "email" else {}
        deliveries.mark_sent(delivery, outcome, DEFAULT_DB_ALIAS, **extra)

    return sent


def _on_error(outcome: deliveries.Outcome) -> Callable[[Delivery, Exception], None]:
    def failed(delivery: Delivery, error: Exception) -> None:
        # Final, even when transient: a test message is not worth a retry by the sweeper.
        final = PermanentDeliveryError(str(error))
        deliveries.mark_error(delivery, final, outcome, DEFAULT_DB_ALIAS)

    return failed
