"""End to end: real Redis, a real Celery worker, a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.tasks import deliver_email, redispatch_stale
from tests.conftest import email_rule, make_user
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SENT = Delivery.Status.SENT


def delivery_where(**filters: Any) -> Any:
    return lambda: Delivery.objects.filter(**filters).first()


def finished(states: list[tuple[str, str]], name: str, count: int = 1) -> Any:
    return lambda: len([s for s in states if s[0] == f"django_notify_tasks.{name}"]) >= count


def test_member_added_emails_chat_admin_once(
    celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)

    delivery = wait_for(delivery_where(status=SENT), message="the delivery to be sent")
    [received] = smtp_server.messages
    assert received.envelope_to == ["alice@chat.example"]
    assert received.subject == "bob joined Gardening"
    assert received.message_id == delivery.message_id
    assert Notification.objects.get().status == Notification.Status.PROCESSED


def test_rollback_sends_nothing(celery_worker: Any, smtp_server: Any, chat: Chat) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        Membership.objects.create(chat=chat, user=make_user("ghost"))
        raise RuntimeError("the view failed")
    Membership.objects.create(chat=chat, user=make_user("bob"))  # a later, committed event

    wait_for(delivery_where(status=SENT))
    assert [m.subject for m in smtp_server.messages] == ["bob joined Gardening"]
    assert Notification.objects.count() == 1


def test_delete_renders_from_the_snapshot(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    membership = Membership.objects.create(chat=chat, user=member, role="moderator")
    settings.NOTIFY_TASKS_RULES = {
        "left": {
            "model": "testapp.Membership",
            "on": ["deleted"],
            "email": {
                "to": ["chat.admin.email"],
                "subject": "Membership {{ instance.pk }} ({{ instance.role }}) "
                "of {{ instance.user }} ended",
                "body": "{{ event }}",
            },
        }
    }
    membership_pk = membership.pk
    membership.delete()

    wait_for(delivery_where(status=SENT, notification__rule="left"))
    subjects = [m.subject for m in smtp_server.messages]
    assert f"Membership {membership_pk} (moderator) of bob ended" in subjects


def test_m2m_changes_from_both_sides_email_once_each(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "joined": {
            "model": "testapp.Chat.members",
            "on": ["m2m_added", "m2m_removed"],
            "email": {
                "to": ["admin.email"],
                "subject": "{{ related }} {{ event }} {{ instance }}",
                "body": ".",
            },
        }
    }
    bob, carol = make_user("bob"), make_user("carol")
    chat.members.add(bob)
    carol.chats.add(chat)
    carol.chats.add(chat)  # already a member: nothing
    chat.members.remove(bob)

    wait_for(lambda: Delivery.objects.filter(status=SENT).count() == 3)
    assert sorted(m.subject for m in smtp_server.messages) == [
        "bob m2m_added Gardening",
        "bob m2m_removed Gardening",
        "carol m2m_added Gardening",
    ]


def test_update_with_fields_fires_only_for_those_fields(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "renamed": {
            "model": "testapp.Chat",
            "on": ["updated"],
            "fields": ["title"],
            "email": {"to": ["admin.email"], "subject": "Now {{ instance.title }}", "body": "."},
        }
    }
    chat = Chat.objects.get(pk=chat.pk)
    chat.topic = "soil"
    chat.save()
    chat.title = "Roses"
    chat.save(update_fields=["title"])

    wait_for(delivery_where(status=SENT))
    assert [m.subject for m in smtp_server.messages] == ["Now Roses"]
    assert Notification.objects.count() == 1


def test_smtp_421_twice_then_success_delivers_once(
    celery_worker: Any, smtp_server: Any, chat: Chat, member: Any, task_states: Any
) -> None:
    smtp_server.handler.data_replies = ["421 4.3.2 try again later", "421 4.3.2 try again later"]
    Membership.objects.create(chat=chat, user=member)

    delivery = wait_for(delivery_where(status=SENT), message="delivery after two 421s")
    assert delivery.attempts == 3
    assert len(smtp_server.messages) == 1
    assert ("django_notify_tasks.deliver_email", "RETRY") in task_states


def test_smtp_550_fails_at_once_and_other_recipients_get_theirs(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat, member: Any, task_states: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", "user.email")
    smtp_server.handler.refuse["alice@chat.example"] = "550 5.1.1 no such user"
    Membership.objects.create(chat=chat, user=member)

    failed = wait_for(delivery_where(status=Delivery.Status.FAILED))
    wait_for(delivery_where(status=SENT))
    wait_for(finished(task_states, "process_notification"))
    assert failed.target == "alice@chat.example"
    assert failed.attempts == 1
    assert "550" in failed.error and "no such user" in failed.error
    assert [m.envelope_to for m in smtp_server.messages] == [["bob@chat.example"]]
    # The processing run sent the first batch itself, and says that one failed.
    assert ("django_notify_tasks.process_notification", "FAILURE") in task_states


def test_silent_smtp_server_times_out_retries_then_gives_up(
    settings: Any, celery_worker: Any, silent_smtp_server: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_MAX_RETRIES = 1
    Membership.objects.create(chat=chat, user=member)

    failed = wait_for(delivery_where(status=Delivery.Status.FAILED), timeout=20)
    assert failed.attempts == 2
    assert failed.error.startswith("gave up after 2 attempts:")
    assert "timed out" in failed.error
    assert len(silent_smtp_server.accepted) == 2  # one connection per attempt


def test_delivery_task_run_twice_sends_one_message(
    celery_worker: Any, smtp_server: Any, chat: Chat, member: Any, task_states: Any
) -> None:
    Membership.objects.create(chat=chat, user=member)
    delivery = wait_for(delivery_where(status=SENT))

    deliver_email.delay([delivery.pk])  # sent by the processing run: these claim nothing
    deliver_email.delay([delivery.pk])
    wait_for(finished(task_states, "deliver_email", count=2))
    assert len(smtp_server.messages) == 1
    assert Delivery.objects.get().attempts == 1


def test_broker_down_at_commit_then_sweeper_delivers(
    caplog: Any,
    settings: Any,
    celery_worker: Any,
    broker_server: Any,
    smtp_server: Any,
    chat: Chat,
    task_states: Any,
) -> None:
    settings.NOTIFY_TASKS_REDISPATCH_AFTER = 0.001
    broker_server.stop()
    try:
        started = time.monotonic()
        with transaction.atomic():
            Membership.objects.create(chat=chat, user=make_user("bob"))
        save_seconds = time.monotonic() - started
        assert Notification.objects.get().status == Notification.Status.PENDING
    finally:
        broker_server.start()
    assert save_seconds < 5  # a hang detector, not a speed target: see bench/ for figures
    assert "Could not send django_notify_tasks.process_notification" in caplog.text

    redispatch_stale.delay()
    wait_for(delivery_where(status=SENT), timeout=30, message="the sweeper's re-send")
    assert len(smtp_server.messages) == 1
    assert Notification.objects.get().dispatch_count == 1


def test_one_smtp_connection_serves_all_deliveries_of_a_task(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", "user.email", "ops@chat.example")
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 1  # with the default, 3: one message each
    Membership.objects.create(chat=chat, user=member)

    wait_for(lambda: Delivery.objects.filter(status=SENT).count() == 3)
    assert len(smtp_server.messages) == 3
    assert smtp_server.handler.connections == 1


def test_a_transient_error_does_not_spoil_the_connection_for_the_rest(
    settings: Any, celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", "user.email")
    # One connection, so that alice's message is the first the server sees (with the
    # default, 3, each message has a connection of its own and they race).
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 1
    smtp_server.handler.data_replies = ["421 4.3.2 closing"]  # the first message only
    Membership.objects.create(chat=chat, user=member)

    wait_for(lambda: Delivery.objects.filter(status=SENT).count() == 2)
    attempts = dict(Delivery.objects.values_list("target", "attempts"))
    assert attempts == {"alice@chat.example": 2, "bob@chat.example": 1}
    assert len(smtp_server.messages) == 2


def test_retries_go_on_until_the_setting_not_celerys_default_of_three(
    celery_worker: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    smtp_server.handler.data_replies = ["421 4.3.2 try again later"] * 4
    Membership.objects.create(chat=chat, user=member)

    delivery = wait_for(delivery_where(status=SENT), message="delivery after four 421s")
    assert delivery.attempts == 5
    assert len(smtp_server.messages) == 1
