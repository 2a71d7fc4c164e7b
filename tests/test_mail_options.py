"""Per-rule message options: sender, reply-to, copies, headers and attachments reach the
real SMTP server through a real worker; what cannot be used is a check error (E033)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks.models import Delivery
from tests.conftest import email_rule
from tests.support.checks import package_messages
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership


def invoice(membership: Any, recipient: Any) -> list[tuple[str, bytes, str]]:
    return [("welcome.txt", f"Hello {recipient.address}".encode(), "text/plain")]


def rules_with(**email: Any) -> dict[str, Any]:
    rules = email_rule("chat.admin.email", subject="Joined", body="A member joined.")
    rules["member-joined"]["email"].update(email)
    return rules


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_rules_options_are_on_the_message_the_server_gets(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(
        from_email="Chat <chat@chat.example>",
        reply_to="support@chat.example",
        cc=["audit@chat.example"],
        bcc="archive@chat.example",
        headers={"X-Campaign": "members"},
        attachments=invoice,
    )
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)
    wait_for(lambda: Delivery.objects.filter(status="sent").exists())
    [received] = smtp_server.messages
    assert sorted(received.envelope_to) == [
        "alice@chat.example",
        "archive@chat.example",
        "audit@chat.example",
    ]
    message = received.message
    assert message["From"] == "Chat <chat@chat.example>"
    assert message["Reply-To"] == "support@chat.example"
    assert message["Cc"] == "audit@chat.example" and message["Bcc"] is None
    assert message["X-Campaign"] == "members"
    [attachment] = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == "welcome.txt"
    # Django 6 ends a text attachment with a line break; the content is the callable's.
    assert attachment.get_payload(decode=True).rstrip(b"\r\n") == b"Hello alice@chat.example"


@pytest.mark.django_db
def test_attachments_that_raise_fail_that_recipients_row(
    settings: Any, monkeypatch: Any, chat: Chat, member: Any
) -> None:
    from django_notify_tasks.models import Notification
    from django_notify_tasks.processing import process_notification

    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )
    settings.NOTIFY_TASKS_RULES = rules_with(attachments=lambda membership, recipient: 1 / 0)
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")
    [row] = Delivery.objects.all()
    assert (row.target, row.status) == ("alice@chat.example", "failed")
    assert row.error == "attachments raised ZeroDivisionError: division by zero"


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"headers": {"X-Bad": "a\r\nBcc: victim@x.example"}}, "should be text on one line"),
        ({"headers": {"Bcc": "x@x.example"}}, "is set by the package or by its own key"),
        ({"headers": {"Bad Name": "x"}}, "is not a header name"),
        ({"from_email": "not an address"}, "is not a valid address"),
        ({"cc": ["a@x.example", 3]}, "should be an address on one line"),
        ({"reply_to": {"a": 1}}, "should be an address or a list of them"),
        ({"headers": ["X-A"]}, "should be a dict"),
    ],
)
def test_what_cannot_be_used_is_check_e033(settings: Any, options: Any, reason: str) -> None:
    settings.NOTIFY_TASKS_RULES = rules_with(**options)
    [error] = [m for m in package_messages() if m.id == "django_notify_tasks.E033"]
    assert reason in error.msg


def test_a_rules_mailer_must_be_a_mailers_alias(settings: Any) -> None:
    import django

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.NOTIFY_TASKS_RULES = rules_with(mailer="bulk")
    [error] = [m for m in package_messages() if m.id == "django_notify_tasks.E033"]
    expected = "which Django 6.1 introduced" if django.VERSION < (6, 1) else "is not in MAILERS"
    assert expected in error.msg
