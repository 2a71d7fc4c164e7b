"""A rule's recipients may be users: their address comes from the user model's email field,
and users who cannot be sent to leave a skipped delivery saying why."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from django_notify_tasks.sweeper import redispatch_stale
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def rows_after_joining(chat: Chat, user: Any) -> list[Delivery]:
    Membership.objects.create(chat=chat, user=user)
    notification = Notification.objects.get()
    process_notification(notification.pk, "default")
    return list(notification.deliveries.order_by("target"))


def test_a_path_to_users_sends_to_their_addresses_and_keeps_the_user(
    settings: Any, chat: Chat, member: Any
) -> None:
    carol = make_user("carol")
    chat.members.add(carol, through_defaults={})
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin", "chat.members")

    rows = rows_after_joining(chat, member)

    assert [(row.target, row.status, row.user_id) for row in rows] == [
        ("alice@chat.example", "pending", chat.admin_id),
        ("bob@chat.example", "pending", member.pk),
        ("carol@chat.example", "pending", carol.pk),
    ]


def test_a_callable_may_return_a_user_or_users(settings: Any, chat: Chat, member: Any) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule(lambda m: m.user, lambda m: [m.chat.admin])

    rows = rows_after_joining(chat, member)

    assert [(row.target, row.user_id) for row in rows] == [
        ("alice@chat.example", chat.admin_id),
        ("bob@chat.example", member.pk),
    ]


def test_inactive_users_and_users_without_an_address_are_skipped_with_the_reason(
    settings: Any, chat: Chat
) -> None:
    inactive = make_user("ivy")
    inactive.is_active = False
    inactive.save()
    nameless = make_user("nora")
    nameless.email = ""
    nameless.save()
    settings.NOTIFY_TASKS_RULES = email_rule(lambda m: [inactive, nameless, m.chat.admin])

    rows = rows_after_joining(chat, make_user("bob"))

    assert [(row.target, row.status, row.error, row.user_id) for row in rows] == [
        ("alice@chat.example", "pending", "", chat.admin_id),
        ("ivy@chat.example", "skipped", "the user is inactive", inactive.pk),
        (f"user #{nameless.pk}", "skipped", "the user has no email address", nameless.pk),
    ]


def test_a_user_and_their_bare_address_make_one_row_that_keeps_the_user(
    settings: Any, chat: Chat, member: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", "chat.admin")

    [row] = rows_after_joining(chat, member)

    assert (row.target, row.user_id) == ("alice@chat.example", chat.admin_id)


def test_skipped_rows_are_final_for_the_sweeper(settings: Any, chat: Chat) -> None:
    ghost = make_user("ghost")
    ghost.is_active = False
    ghost.save()
    settings.NOTIFY_TASKS_RULES = email_rule(lambda m: [ghost])
    settings.NOTIFY_TASKS_REDISPATCH_AFTER = 0
    [row] = rows_after_joining(chat, make_user("bob"))
    Delivery.objects.filter(pk=row.pk).update(updated_at=row.updated_at.replace(year=2000))

    result = redispatch_stale()

    assert Delivery.objects.get(pk=row.pk).status == "skipped"
    assert result["email"] == 0
