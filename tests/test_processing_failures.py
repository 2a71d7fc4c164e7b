"""A problem in one notification's rule (a raising property, a bug in user code, an address
that cannot be stored) fails that notification or delivery with its reason, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def test_a_channel_property_that_raises_fails_that_channel_only(
    settings: Any, chat: Chat, member: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(Chat, "broken", property(lambda self: 1 / 0), raising=False)
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:1/api"
    settings.NOTIFY_TASKS_RULES = {
        "joined": {
            "model": "testapp.Membership",
            "on": ["created"],
            "email": {"to": ["chat.admin.email"], "subject": "s", "body": "b"},
            "realtime": {"channels": ["chats:{instance.chat.broken}", "chats:{instance.chat_id}"]},
        }
    }
    Membership.objects.create(chat=chat, user=member)
    pending = process_notification(Notification.objects.get().pk, "default")
    assert len(pending["email"]) == 1 and len(pending["realtime"]) == 1
    failed = Delivery.objects.get(status="failed")
    assert "ZeroDivisionError" in failed.error


def test_an_unexpected_error_fails_the_notification_instead_of_looping(
    monkeypatch: Any, chat: Chat, member: Any
) -> None:
    def explode(*args: Any) -> Any:
        raise RuntimeError("a bug in a host's template tag")

    monkeypatch.setattr(
        "django_notify_tasks.channels.email.EmailChannel.build_deliveries", explode
    )
    Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    assert process_notification(notification.pk, "default") == {}
    notification.refresh_from_db()
    assert notification.status == "failed"
    assert notification.error == "processing raised RuntimeError: a bug in a host's template tag"


def test_an_address_too_long_to_store_is_a_failed_delivery(
    settings: Any, chat: Chat, member: Any
) -> None:
    long_address = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    settings.NOTIFY_TASKS_RULES = email_rule(lambda m: long_address, subject="s", body="b")
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")
    [failed] = Delivery.objects.all()
    assert failed.status == "failed" and "longer than 255" in failed.error
