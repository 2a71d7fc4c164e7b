"""The ``inapp`` channel stores one inbox item per user, rendered in their language, obeys
preferences like email, stores a row sent twice once, and its items are purged with the
retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_notify_tasks.channels.inapp.store import store_items
from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.models import Delivery, InboxItem, Notification
from django_notify_tasks.preferences import set_enabled
from django_notify_tasks.reports import purge_old
from django_notify_tasks.rules import parse_rule
from django_notify_tasks.testing import deliver
from tests.conftest import make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


def inapp_rule(*to: Any, **section: Any) -> dict[str, Any]:
    inapp = {"to": list(to), **(section or {"title": "{{ instance.user }} joined"})}
    return {"model": "testapp.Membership", "on": ["created"], "inapp": inapp}


def language_of(user: Any) -> str | None:
    return {"alice": "fr"}.get(user.username)


def test_each_user_gets_one_item_in_their_language(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.LANGUAGE_CODE = "en"
    settings.NOTIFY_TASKS_RECIPIENT_LANGUAGE = "tests.test_inbox_items.language_of"
    settings.NOTIFY_TASKS_RULES = {
        "member-joined": inapp_rule(
            "chat.admin",
            "user",
            "chat.admin",  # twice: one item
            title="{% load i18n %}{% get_current_language as lang %}{{ lang }}: "
            "{{ instance.user }} joined",
            body="Hi {{ recipient.user.username }}",
            url="/chats/{{ instance.chat_id }}/",
        )
    }
    Membership.objects.create(chat=chat, user=member)

    rows = deliver()

    assert [(row.channel, row.target, row.status) for row in rows] == [
        ("inapp", f"user #{chat.admin.pk}", "sent"),
        ("inapp", f"user #{member.pk}", "sent"),
    ]
    items = InboxItem.objects.order_by("user__username")
    assert [(i.user, i.rule, i.title, i.body, i.url, i.read_at) for i in items] == [
        (chat.admin, "member-joined", "fr: bob joined", "Hi alice", f"/chats/{chat.pk}/", None),
        (member, "member-joined", "en: bob joined", "Hi bob", f"/chats/{chat.pk}/", None),
    ]


def test_template_files_make_the_title_body_and_link(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "member-joined": inapp_rule("chat.admin", template="testapp/inapp/member_joined")
    }
    Membership.objects.create(chat=chat, user=member)

    deliver()

    item = InboxItem.objects.get()
    assert (item.title, item.body, item.url) == (
        "bob joined Gardening",
        "Say hello to bob.",
        f"/chats/{chat.pk}/",
    )


def test_opted_out_and_inactive_users_get_no_item(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    carol = make_user("carol")
    carol.is_active = False
    carol.save()
    chat.members.add(carol, through_defaults={})
    rule = {**inapp_rule("chat.admin", "user", "chat.members"), "opt_out": True}
    settings.NOTIFY_TASKS_RULES = {"member-joined": rule}
    set_enabled(member, "member-joined", "inapp", False)
    Notification.objects.all().delete()
    Membership.objects.create(chat=chat, user=member)

    rows = deliver()

    assert sorted((row.target, row.status, row.error) for row in rows) == [
        (f"user #{chat.admin.pk}", "sent", ""),
        (f"user #{member.pk}", "skipped", "not sent: the user turned this off"),
        (f"user #{carol.pk}", "skipped", "the user is inactive"),
    ]
    assert list(InboxItem.objects.values_list("user__username", flat=True)) == ["alice"]


def test_an_address_is_refused_in_the_rule_and_one_resolved_at_run_time_fails(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    with pytest.raises(RuleError, match="the inbox is for users") as caught:
        parse_rule("r", inapp_rule("boss@chat.example"))
    assert caught.value.check_id == "E026"
    with pytest.raises(RuleError, match="either 'template' or a 'title'"):
        parse_rule("r", inapp_rule("chat.admin", body="no title"))
    settings.NOTIFY_TASKS_RULES = {"member-joined": inapp_rule("chat.admin.email")}
    Membership.objects.create(chat=chat, user=member)

    [row] = deliver()

    assert (row.status, row.error) == (
        "failed",
        "the inbox is for users; 'chat.admin.email' resolved to 'alice@chat.example'",
    )


def test_a_row_stored_twice_makes_one_item(
    settings: Any, chat: Chat, member: Any, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"member-joined": inapp_rule("chat.admin")}
    Membership.objects.create(chat=chat, user=member)
    [row] = deliver()
    sent: list[Delivery] = []

    store_items([Delivery.objects.get(pk=row.pk)], sent.append, lambda d, e: None)

    assert sent == [row]
    assert InboxItem.objects.count() == 1


def test_items_older_than_the_retention_are_purged_read_or_not(
    settings: Any, chat_admin: Any
) -> None:
    settings.NOTIFY_TASKS_RETENTION_DAYS = 30
    now = timezone.now()
    for days, read in [(31, True), (31, False), (29, False)]:
        InboxItem.objects.create(
            user=chat_admin,
            rule="r",
            title=f"{days} {read}",
            created=now - timedelta(days=days),
            read_at=now if read else None,
        )

    assert purge_old(now=now, batch_size=1) == 2

    assert list(InboxItem.objects.values_list("title", flat=True)) == ["29 False"]


def test_the_migrations_match_the_models() -> None:
    call_command("makemigrations", "django_notify_tasks", "--check", "--dry-run")
