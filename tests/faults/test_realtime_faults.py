"""Centrifugo faults in a rule that also emails: realtime retries or fails, email goes out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from django_notify_tasks.models import Delivery
from tests.faults.config import rules
from tests.faults.conftest import Faults
from tests.faults.harness import email_tally, failures, settled
from tests.support.centrifugo import CentrifugoDouble
from tests.testapp.models import Chat

pytestmark = [pytest.mark.faults, pytest.mark.integration]

SENT, FAILED = Delivery.Status.SENT, Delivery.Status.FAILED


def unknown_namespace(double: CentrifugoDouble) -> None:
    double.namespaces = frozenset({"personal"})  # Centrifugo's config lost "chats"


FAULTS: dict[str, Callable[[CentrifugoDouble], None]] = {
    "503 twice": lambda double: double.fail_next("http_503", times=2),
    "timeout": lambda double: double.fail_next("timeout", delay=1.0),  # client waits 0.5 s
    "401": lambda double: double.set_api_key("rotated-key"),
    "102": unknown_namespace,
}


@pytest.mark.parametrize(
    ("fault", "status", "attempts", "published", "reason"),
    [
        ("503 twice", SENT, 3, 1, ""),
        ("timeout", SENT, 2, 1, ""),  # published on the first try; the retry is a repeat
        ("401", FAILED, 1, 0, "CentUnauthorizedError"),
        ("102", FAILED, 1, 0, "Centrifugo error 102: unknown channel"),
    ],
)
def test_centrifugo_fault_and_the_email_of_the_same_rule(
    faults: Faults,
    chat_admin: Any,
    fault: str,
    status: str,
    attempts: int,
    published: int,
    reason: str,
) -> None:
    faults.settings.NOTIFY_TASKS_RULES = rules("chat-created-both")
    FAULTS[fault](faults.centrifugo)
    chat = Chat.objects.create(title="Gardening", admin=chat_admin)

    faults.worker.wait_until(lambda: Delivery.objects.count() == 2 and settled(), 30, "2 settled")
    realtime = Delivery.objects.get(channel=Delivery.Channel.REALTIME)
    assert (realtime.status, realtime.attempts) == (status, attempts)
    assert reason in realtime.error if reason else realtime.error == ""
    assert len(faults.centrifugo.publications_to(f"chats:{chat.pk}")) == published
    expected_failures = {f"chat-created-both: chats:{chat.pk}"} if reason else set()
    assert set(failures(Delivery.Channel.REALTIME)) == expected_failures
    # The email of the same rule and event: sent once, whatever Centrifugo did.
    assert email_tally(faults.smtp).counts == (1, 0, 0, 0)
