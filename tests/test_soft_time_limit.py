"""At the soft time limit a run stops sending, records nothing as failed, and gives back
what it has not sent without counting an attempt."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
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

    monkeypatch.setattr("django_notify_tasks.channels.email.connections.send_each", out_of_time)
    deliver_email.apply(args=(ids,))  # the retry it schedules runs eagerly: stop it there
    first, second = Delivery.objects.order_by("pk")
    assert (first.status, first.attempts) == ("sent", 1)
    assert second.attempts <= 1  # released rows did not burn attempts they never made
