"""End to end: real Redis, a real Celery worker, a real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks.models import Delivery, Notification
from tests.services import wait_for
from tests.testapp.models import Membership

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_member_added_emails_chat_admin_once(
    celery_worker: Any, smtp_server: Any, chat: Any, member: Any
) -> None:
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)

    received = wait_for(lambda: smtp_server.messages, message="the email")
    delivery = wait_for(lambda: Delivery.objects.filter(status=Delivery.Status.SENT).first())
    assert [m.envelope_to for m in received] == [["alice@chat.example"]]
    assert received[0].subject == "bob joined Gardening"
    assert received[0].message_id == delivery.message_id
    assert Notification.objects.get().status == Notification.Status.PROCESSED
