"""Worker-side services called directly: deliveries built from a notification, and claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import django
import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from django_notify_tasks import deliveries
from django_notify_tasks.channels.email import backend as email_backend
from django_notify_tasks.channels.email import connections as email_connections
from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def email_ids(notification_id: int) -> list[int]:
    return process_notification(notification_id, "default").get("email", [])


def rule(**email_spec: Any) -> dict[str, Any]:
    spec = {"to": ["chat.admin.email"], "subject": "{{ instance.user }} joined", "body": "b"}
    return {
        "r": {"model": "testapp.Membership", "on": ["created"], "email": {**spec, **email_spec}}
    }


def deliveries_of(notification: Notification) -> list[tuple[str, str, str]]:
    return [(d.target, d.status, d.error) for d in notification.deliveries.order_by("target")]


def test_builds_rendered_deliveries_from_template_files(chat: Chat, member: Any) -> None:
    membership = Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    [delivery_id] = email_ids(notification.pk)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.target == "alice@chat.example"
    assert delivery.subject == "bob joined Gardening"  # the trailing newline is gone
    assert 'bob joined "Gardening" (created, rule member-joined)' in delivery.body  # not escaped
    assert delivery.html == "<p><b>bob</b> joined Gardening</p>\n"
    assert membership.pk and Notification.objects.get().status == Notification.Status.PROCESSED


def test_processing_twice_creates_nothing_more(chat: Chat, member: Any) -> None:
    Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    assert len(email_ids(notification.pk)) == 1
    assert email_ids(notification.pk) == []
    assert Delivery.objects.count() == 1


def test_recipients_fan_out_dedupe_and_record_bad_ones(settings: Any, chat: Chat) -> None:
    bad = make_user("nomail")
    bad.email = ""
    bad.save()
    chat.members.add(make_user("carol"), bad, through_defaults={})
    settings.NOTIFY_TASKS_RULES = rule(
        to=[
            "chat.admin.email",
            "ALICE@chat.example",
            "chat.members.email",
            "not-an-address@",
            lambda m: ["ops@chat.example"],
        ]
    )
    Membership.objects.create(chat=chat, user=make_user("bob"))
    notification = Notification.objects.filter(rule="r").get()
    email_ids(notification.pk)
    assert deliveries_of(notification) == [
        ("alice@chat.example", "pending", ""),
        ("bob@chat.example", "pending", ""),
        ("carol@chat.example", "pending", ""),
        ("chat.members.email", "failed", "no email address (the recipient resolved to '')"),
        ("not-an-address@", "failed", "invalid email address 'not-an-address@'"),
        ("ops@chat.example", "pending", ""),
    ]


def test_template_error_is_a_failed_delivery_with_the_reason(
    settings: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = rule(body="{{ instance.chat.nope|date:'Y' }}{% url 'nowhere' %}")
    Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    assert email_ids(notification.pk) == []
    [(target, status, error)] = deliveries_of(notification)
    assert (target, status) == ("(all recipients)", "failed")
    assert "NoReverseMatch" in error


def test_recipient_path_that_raises_is_recorded(settings: Any, chat: Chat, member: Any) -> None:
    def explode(instance: Any) -> list[str]:
        raise LookupError("directory is down")

    settings.NOTIFY_TASKS_RULES = rule(to=["chat.admin.email", explode])
    Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    assert len(email_ids(notification.pk)) == 1
    assert deliveries_of(notification)[0] == (
        "(recipients)",
        "failed",
        "recipients could not be resolved: LookupError: directory is down",
    )


def test_deleted_row_renders_from_the_snapshot(settings: Any, chat: Chat, member: Any) -> None:
    settings.NOTIFY_TASKS_RULES = rule(
        subject="{{ instance.user.username }} left {{ instance.chat }} ({{ instance.role }})"
    )
    settings.NOTIFY_TASKS_RULES["r"]["on"] = ["deleted"]
    membership = Membership.objects.create(chat=chat, user=member, role="moderator")
    membership.delete()
    notification = Notification.objects.get()
    [delivery_id] = email_ids(notification.pk)
    assert Delivery.objects.get(pk=delivery_id).subject == "bob left Gardening (moderator)"


def test_created_row_gone_before_the_worker_uses_the_snapshot(chat: Chat, member: Any) -> None:
    Membership.objects.create(chat=chat, user=member).delete()
    notification = Notification.objects.get()
    [delivery_id] = email_ids(notification.pk)
    assert Delivery.objects.get(pk=delivery_id).subject == "bob joined Gardening"


def test_removed_rule_fails_the_notification(settings: Any, chat: Chat, member: Any) -> None:
    Membership.objects.create(chat=chat, user=member)
    settings.NOTIFY_TASKS_RULES = {}
    notification = Notification.objects.get()
    assert email_ids(notification.pk) == []
    notification.refresh_from_db()
    assert (notification.status, notification.error) == ("failed", "rule not configured")


def test_m2m_context_has_related_and_reverse_condition_runs_in_worker(
    settings: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "joined": {
            "model": "testapp.Chat.members",
            "on": ["m2m_added"],
            "condition": lambda c, event: c.title != "Quiet",
            "email": {
                "to": ["admin.email"],
                "subject": "{{ related }} joined {{ instance }}",
                "body": "b",
            },
        }
    }
    quiet = Chat.objects.create(title="Quiet", admin=chat.admin)
    bob = make_user("bob")
    bob.chats.add(chat, quiet)
    by_chat = {n.object_pk: n for n in Notification.objects.all()}
    [delivery_id] = email_ids(by_chat[str(chat.pk)].pk)
    assert Delivery.objects.get(pk=delivery_id).subject == "bob joined Gardening"
    assert email_ids(by_chat[str(quiet.pk)].pk) == []
    assert Notification.objects.get(object_pk=quiet.pk).status == "skipped"


def test_a_claimed_delivery_cannot_be_claimed_again(chat: Chat, member: Any) -> None:
    Membership.objects.create(chat=chat, user=member)
    ids = email_ids(Notification.objects.get().pk)
    first = deliveries.claim(ids, Delivery.Channel.EMAIL, "default")
    assert [d.pk for d in first] == ids
    assert deliveries.claim(ids, Delivery.Channel.EMAIL, "default") == []
    deliveries.mark_sent(first[:1], deliveries.Outcome(), "default")
    assert deliveries.claim(ids, Delivery.Channel.EMAIL, "default") == []


def test_message_has_deterministic_id_and_both_parts(chat: Chat, member: Any) -> None:
    Membership.objects.create(chat=chat, user=member)
    [delivery_id] = email_ids(Notification.objects.get().pk)
    delivery = Delivery.objects.get(pk=delivery_id)
    email_connections.send_each([delivery], lambda d: None, lambda d, e: pytest.fail(str(e)))
    [sent] = mail.outbox
    assert sent.extra_headers["Message-ID"] == email_backend.message_id(delivery)
    assert (
        email_backend.message_id(delivery)
        == f"<notify-tasks.{delivery.notification.stamp}.{delivery.pk}@chat.example>"
    )
    assert sent.alternatives[0][1] == "text/html"
    assert sent.from_email == "notifications@chat.example"


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (__import__("smtplib").SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), False),
        (__import__("smtplib").SMTPRecipientsRefused({"a@b.c": (452, b"mailbox full")}), True),
        (__import__("smtplib").SMTPDataError(421, b"try later"), True),
        (__import__("smtplib").SMTPDataError(554, b"spam"), False),
        (__import__("smtplib").SMTPServerDisconnected("gone"), True),
        (TimeoutError("timed out"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (ValueError("bad header"), False),
    ],
)
def test_smtp_errors_are_classified(exc: Exception, transient: bool) -> None:
    from django_notify_tasks.exceptions import TransientDeliveryError

    assert isinstance(email_backend.classify(exc), TransientDeliveryError) is transient


def test_projects_without_template_settings_still_render(
    settings: Any, chat: Chat, member: Any
) -> None:
    settings.TEMPLATES = []
    Membership.objects.create(chat=chat, user=member)
    [delivery_id] = email_ids(Notification.objects.get().pk)
    assert Delivery.objects.get(pk=delivery_id).subject == "bob joined Gardening"


def test_condition_raising_in_the_worker_fails_the_notification(settings: Any, chat: Chat) -> None:
    def explode(instance: Any, event: str) -> bool:
        raise KeyError("flag")

    settings.NOTIFY_TASKS_RULES = {
        "joined": {
            "model": "testapp.Chat.members",
            "on": ["m2m_added"],
            "condition": explode,
            "email": {"to": ["admin.email"], "subject": "s", "body": "b"},
        }
    }
    make_user("bob").chats.add(chat)
    notification = Notification.objects.get()
    assert email_ids(notification.pk) == []
    notification.refresh_from_db()
    assert (notification.status, notification.error) == (
        "failed",
        "condition raised KeyError: 'flag'",
    )


def test_a_backend_that_cannot_be_built_fails_each_delivery(
    settings: Any, chat: Chat, member: Any
) -> None:
    if django.VERSION >= (6, 1):
        settings.NOTIFY_TASKS_MAILER = "missing-alias"
    else:
        settings.EMAIL_BACKEND = "no.such.Backend"
    Membership.objects.create(chat=chat, user=member)
    [delivery_id] = email_ids(Notification.objects.get().pk)
    errors: list[str] = []
    email_connections.send_each(
        list(Delivery.objects.filter(pk=delivery_id)),
        lambda d: pytest.fail("sent"),
        lambda d, e: errors.append(str(e)),
    )
    assert len(errors) == 1 and errors[0].startswith("email backend: ")


@pytest.mark.django_db(transaction=True)
def test_rules_user_code_runs_outside_the_write_transaction(
    settings: Any, chat: Chat, member: Any
) -> None:
    seen: list[bool] = []

    def recipients(instance: Membership) -> list[str]:
        seen.append(connection.in_atomic_block)  # a slow callable here must hold no lock
        return ["owner@chat.example"]

    settings.NOTIFY_TASKS_RULES = rule(to=[recipients])
    Membership.objects.create(chat=chat, user=member)
    assert len(email_ids(Notification.objects.get().pk)) == 1
    assert seen == [False]


def test_a_second_run_does_not_take_a_notification_a_live_run_holds(
    settings: Any, chat: Chat, member: Any
) -> None:
    seen_by_second_run: list[list[int]] = []

    def recipients(instance: Membership) -> list[str]:
        if not seen_by_second_run:  # another worker's task for the same notification meanwhile
            seen_by_second_run.append(email_ids(Notification.objects.get().pk))
        return ["owner@chat.example"]

    settings.NOTIFY_TASKS_RULES = rule(to=[recipients])
    Membership.objects.create(chat=chat, user=member)
    assert len(email_ids(Notification.objects.get().pk)) == 1
    assert seen_by_second_run == [[]]  # it did not decide the notification a second time
    assert Delivery.objects.count() == 1


def test_a_run_whose_claim_was_taken_over_writes_nothing(
    settings: Any, chat: Chat, member: Any
) -> None:
    calls: list[int] = []

    def recipients(instance: Membership) -> list[str]:
        calls.append(1)
        if len(calls) == 1:  # this run outlived the hard limit; another took the row over
            Notification.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
            assert len(email_ids(Notification.objects.get().pk)) == 1
        return ["owner@chat.example"]

    settings.NOTIFY_TASKS_RULES = rule(to=[recipients])
    Membership.objects.create(chat=chat, user=member)
    assert email_ids(Notification.objects.get().pk) == []  # the winner's rows stand
    assert Delivery.objects.count() == 1 and len(calls) == 2


def test_ids_do_not_repeat_when_a_database_reuses_primary_keys() -> None:
    # After a database reset, or from a second database, notification 1 is a new event:
    # mail clients drop a Message-ID they have seen, Centrifugo a key it has seen.
    def delivery(created_at: datetime) -> Delivery:
        return Delivery(pk=1, notification=Notification(pk=1, created_at=created_at))

    before = delivery(datetime(2026, 1, 1, tzinfo=dt_timezone.utc))
    after = delivery(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt_timezone.utc))
    assert email_backend.message_id(before) != email_backend.message_id(after)
    assert realtime.idempotency_key(before) != realtime.idempotency_key(after)
    assert email_backend.message_id(before) == email_backend.message_id(
        delivery(before.notification.created_at)
    )


def test_a_worker_whose_clock_runs_ahead_does_not_take_a_live_claim(
    monkeypatch: Any, chat: Chat, member: Any
) -> None:
    Membership.objects.create(chat=chat, user=member)
    ids = email_ids(Notification.objects.get().pk)
    assert deliveries.claim(ids, Delivery.Channel.EMAIL, "default")  # a live worker sends
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now + timedelta(hours=1))
    assert deliveries.claim(ids, Delivery.Channel.EMAIL, "default") == []
    Delivery.objects.update(claimed_at=real_now - timedelta(hours=1))  # its sender died
    assert [d.pk for d in deliveries.claim(ids, Delivery.Channel.EMAIL, "default")] == ids
