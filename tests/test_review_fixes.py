"""Regressions from the first code review: time limits, stuck notifications, permissions."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from django_notify_tasks import realtime
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from django_notify_tasks.signals import snapshot
from django_notify_tasks.tasks import deliver_email
from tests.conftest import email_rule
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def test_soft_time_limit_during_a_publish_is_not_a_failure(monkeypatch: Any) -> None:
    class SlowClient:
        def publish(self, request: Any) -> None:
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(realtime, "client", SlowClient)
    parent = Notification(pk=1, created_at=timezone.now())
    row = Delivery(pk=1, notification=parent, channel="realtime", target="chats:1", body="{}")
    with pytest.raises(SoftTimeLimitExceeded):
        realtime.publish_each([row], lambda d: None, lambda d, e: pytest.fail(f"recorded {e}"))


def test_rows_released_at_the_soft_limit_keep_their_attempts(
    monkeypatch: Any, settings: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin.email", "user.email", subject="s", body="b"
    )
    Membership.objects.create(chat=chat, user=member)
    ids = process_notification(Notification.objects.get().pk, "default")["email"]

    def out_of_time(deliveries: Any, on_sent: Any, on_error: Any) -> None:
        on_sent(deliveries[0])
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("django_notify_tasks.email.send_each", out_of_time)
    deliver_email.apply(args=(ids,))  # the retry it schedules runs eagerly: stop it there
    first, second = Delivery.objects.order_by("pk")
    assert (first.status, first.attempts) == ("sent", 1)
    assert second.attempts <= 1  # released rows did not burn attempts they never made


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

    monkeypatch.setattr("django_notify_tasks.processing.build_email_deliveries", explode)
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


def test_snapshot_never_holds_the_password_hash(member: Any) -> None:
    assert member.password
    assert "password" not in snapshot(member)
    assert snapshot(member)["username"] == "bob"


def test_view_only_staff_cannot_resend_or_cancel(client: Any, django_user_model: Any) -> None:
    viewer = django_user_model.objects.create_user("viewer", "v@chat.example", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)
    page = client.get(reverse("admin:django_notify_tasks_notification_changelist"))
    assert page.status_code == 200
    assert b'value="resend"' not in page.content
    assert b'value="cancel"' not in page.content
