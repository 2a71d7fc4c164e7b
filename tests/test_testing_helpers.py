"""django_notify_tasks.testing, used the way a host project's tests would use it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.testing import capture_dispatch, deliver
from tests.conftest import email_rule
from tests.testapp.models import Chat, Membership


@pytest.mark.django_db(transaction=True)
def test_capture_then_deliver_sends_through_the_email_backend(chat: Chat, member: Any) -> None:
    with capture_dispatch() as queued:
        with transaction.atomic():
            Membership.objects.create(chat=chat, user=member)
        assert mail.outbox == []
    [sent] = deliver(queued)
    assert queued == [Notification.objects.get().pk]
    assert (sent.status, sent.target) == ("sent", "alice@chat.example")
    assert [m.subject for m in mail.outbox] == ["bob joined Gardening"]


@pytest.mark.django_db
def test_deliver_without_ids_takes_every_pending_notification(
    chat: Chat,
    member: Any,
    notify_tasks_outbox: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.create(chat=chat, user=member)
    assert len(notify_tasks_outbox) == 1
    assert [d.status for d in deliver()] == ["sent"]
    assert deliver() == []  # nothing pending any more


@pytest.mark.django_db
def test_deliver_records_failures_with_their_reason(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin.email", "not-an-address@", subject="s", body="b"
    )
    Membership.objects.create(chat=chat, user=member)
    by_target = {d.target: d for d in deliver()}
    assert by_target["alice@chat.example"].status == Delivery.Status.SENT
    assert "invalid email address" in by_target["not-an-address@"].error


def example_from_testing_page() -> str:
    """The first example of docs/testing.md, pointed at the test app (the same models)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()
    source = re.search(r"^```python\n(.*?)^```$", text, re.M | re.S)
    assert source is not None
    return source.group(1).replace("from chat.models", "from tests.testapp.models")


@pytest.mark.django_db(transaction=True)
def test_the_testing_page_example_passes(chat: Chat, member: Any) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example_from_testing_page(), "docs/testing.md", "exec"), namespace)  # noqa: S102
    namespace["test_member_joined_emails_the_chat_admin"](chat, member)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_testing_page_example_needs_its_committing_transaction(
    chat: Chat, member: Any
) -> None:
    # What the page warns about: in a transaction that never commits nothing is queued.
    namespace: dict[str, Any] = {}
    exec(compile(example_from_testing_page(), "docs/testing.md", "exec"), namespace)  # noqa: S102
    with pytest.raises(ValueError, match="not enough values to unpack"):
        namespace["test_member_joined_emails_the_chat_admin"](chat, member)
