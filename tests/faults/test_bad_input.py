"""Bad input in rules and data: each bad delivery fails with its reason, the rest goes out."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks.models import Delivery, Notification
from tests.faults.config import ONE_MEGABYTE, rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, failures, settled
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]

BAD_INPUT = (
    "chat-created",  # the good one, recorded by the same save
    "bad-address",
    "bad-template",
    "raising-path",
    "unserializable-data",
    "huge-email",
    "huge-realtime",
)


def test_each_bad_input_fails_its_own_delivery_with_a_reason_and_the_save_succeeds(
    faults: Faults, chat_admin: Any
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules(*BAD_INPUT)
    with transaction.atomic():
        chat = Chat.objects.create(title="Gardening", admin=chat_admin)
    assert Notification.objects.count() == len(BAD_INPUT)

    faults.worker.wait_until(lambda: Delivery.objects.count() == 7 and settled(), 30, "7 settled")
    assert not Notification.objects.exclude(status=Notification.Status.PROCESSED).exists()
    email = email_tally(faults.smtp)
    assert email.counts == (1, 4, 0, 0)
    assert [m.subject for m in faults.smtp.messages] == ["Gardening"]
    reasons = email.failed
    assert reasons.keys() == {
        "bad-address: not an address@chat.example",
        "bad-template: (all recipients)",
        "raising-path: (recipients)",
        "huge-email: alice@chat.example",
    }
    assert reasons["bad-address: not an address@chat.example"] == (
        "invalid email address 'not an address@chat.example'"
    )
    assert reasons["bad-template: (all recipients)"].startswith(
        "template error: TemplateSyntaxError: "
    )
    assert reasons["raising-path: (recipients)"].startswith(
        "recipients could not be resolved: TypeError: "
    )
    assert "missing 2 required positional arguments" in reasons["raising-path: (recipients)"]
    assert "552" in reasons["huge-email: alice@chat.example"]
    assert "message size exceeds" in reasons["huge-email: alice@chat.example"]

    assert failures(Delivery.Channel.REALTIME) == {
        "unserializable-data: (all channels)": "realtime data is not JSON serializable: "
        "Object of type object is not JSON serializable"
    }
    [published] = faults.centrifugo.publications_to(f"chats:{chat.pk}")
    assert len(published.data["blob"]) == ONE_MEGABYTE  # Centrifugo takes it; SMTP did not
    attempts = Delivery.objects.values_list("attempts", flat=True)
    assert max(attempts) <= 1  # nothing permanent was retried
