"""``manage.py notify_tasks_send_test``: send one test email (and publication) now, through
the path a worker's deliveries take.

The message is recorded like any other (a Notification with rule ``TEST_RULE`` and its
Delivery rows), so it shows in the admin with its Message-ID or error.
"""

from __future__ import annotations

import json

from django.core.mail.utils import DNS_NAME
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from django_notify_tasks import deliveries
from django_notify_tasks.channels import get_channel
from django_notify_tasks.channels.email.recipients import check_address
from django_notify_tasks.channels.realtime.names import check_channel
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError, PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.sending import Recorder, send_claimed

TEST_RULE = "notify_tasks_send_test"
SUBJECT = "django-notify-tasks test message"


class SendTestError(NotifyTasksError, ValueError):
    """The address or channel cannot be used, or realtime is off."""


def send_test(to: str, channel: str | None = None) -> list[Delivery]:
    """Record and send one email to ``to`` (and one publication to ``channel``); return them."""
    rows = _build(to, channel)
    for row in rows:
        row.save()
    for name in dict.fromkeys(row.channel for row in rows):
        sender = get_channel(name)
        claimed = deliveries.claim([row.pk for row in rows], name, DEFAULT_DB_ALIAS)
        # Final, even when transient: a test message is not worth a retry by the sweeper.
        send_claimed(claimed, Recorder(sender, DEFAULT_DB_ALIAS, final=True))
    return list(Delivery.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk"))


def _build(to: str, channel: str | None) -> list[Delivery]:
    try:
        address = check_address(to)
        if channel is not None:
            check_channel(channel)
    except PermanentDeliveryError as exc:
        raise SendTestError(str(exc)) from exc
    if channel is not None and not app_settings.centrifugo_api_url:
        raise SendTestError("--channel needs NOTIFY_TASKS_CENTRIFUGO_API_URL: realtime is off.")
    now = timezone.now()
    notification = Notification.objects.create(
        rule=TEST_RULE,
        event="test",
        model="",
        object_pk="",
        status=Notification.Status.PROCESSED,
        processed_at=now,
    )
    body = f"Sent by manage.py {TEST_RULE} on {DNS_NAME} at {now:%Y-%m-%d %H:%M:%S %Z}."
    email = get_channel("email").delivery(notification, address, subject=SUBJECT, body=body)
    rows = [email]
    if channel is not None:
        payload = {"notification": notification.pk, "rule": TEST_RULE, "text": SUBJECT}
        data = json.dumps({**payload, "created_at": now}, cls=DjangoJSONEncoder)
        rows.append(get_channel("realtime").delivery(notification, channel, body=data))
    return rows
