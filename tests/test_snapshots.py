"""A rule's ``snapshot`` key narrows what its outbox rows keep of the instance."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.models import Notification
from tests.conftest import email_rule
from tests.support.checks import package_messages
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def recorded_snapshot(settings: Any, chat: Chat, member: Any, snapshot: Any) -> dict[str, Any]:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", snapshot=snapshot)
    Membership.objects.create(chat=chat, user=member, role="moderator")
    return Notification.objects.get().snapshot  # type: ignore[no-any-return]


def test_none_keeps_every_field_but_credentials(settings: Any, chat: Chat, member: Any) -> None:
    kept = recorded_snapshot(settings, chat, member, None)
    assert {"id", "chat_id", "user_id", "role"} <= set(kept)


def subject(template: str) -> dict[str, Any]:
    return {"email": {"to": ["chat.admin.email"], "subject": template, "body": "."}}


def admins(instance: Membership) -> list[Any]:
    return [instance.chat.admin]


def attachments(instance: Membership, recipient: Any) -> list[Any]:
    return []


def always(instance: Membership, event: str) -> bool:
    return True


def snapshot_without_the_key(settings: Any, chat: Chat, member: Any, **rule: Any) -> Any:
    settings.NOTIFY_TASKS_RULES = {"member-joined": {
        "model": "testapp.Membership", "on": ["created", "deleted"], **rule
    }}  # fmt: skip
    Membership.objects.create(chat=chat, user=member, role="moderator")
    return Notification.objects.get().snapshot


def test_without_the_key_only_what_the_paths_and_templates_read_is_kept(
    settings: Any, chat: Chat, member: Any
) -> None:
    email = {"to": ["chat.admin.email", "ops@chat.example"],
             "subject": "{% load i18n %}{% translate 'Joined' %}: {{ instance.chat.title }}",
             "body": "{% if instance.role %}{{ instance.role|upper }}{% endif %}"}  # fmt: skip
    assert snapshot_without_the_key(settings, chat, member, email=email) == {
        "id": Membership.objects.get().pk, "chat_id": chat.pk, "role": "moderator",
    }  # fmt: skip


def test_template_files_and_their_includes_are_read_too(
    settings: Any, chat: Chat, member: Any
) -> None:
    inapp = {
        "to": ["user"],
        "title": "Hi",
        "body": '{% include "testapp/email/member_joined.txt" %}',
    }
    kept = snapshot_without_the_key(settings, chat, member, inapp=inapp)
    # member_joined.txt reads instance.user and instance.chat: their ids, and the key.
    assert kept == {"id": Membership.objects.get().pk, "chat_id": chat.pk, "user_id": member.pk}


@pytest.mark.parametrize(
    "rule",
    [
        subject("{{ instance }}"),
        subject("{% with m=instance %}{{ m.role }}{% endwith %}"),
        subject("{{ instance.get_next_by_joined_at }}"),
        subject("{% load notify_tasks %}."),
        {"email": {"to": "tests.test_snapshots.admins", "subject": ".", "body": "."}},
        {"email": {"to": ["chat.admin.email"], "subject": ".", "body": ".",
                   "attachments": "tests.test_snapshots.attachments"}},
        {"realtime": {"channels": ["chats:{instance.chat_id}"]}},
        {"condition": "tests.test_snapshots.always",
         "email": {"to": ["chat.admin.email"], "subject": ".", "body": "."}},
    ],
    ids=["whole-instance", "with", "method", "custom-library", "callable-to", "attachments",
         "realtime", "condition"],
)  # fmt: skip
def test_without_the_key_every_field_is_kept_where_the_rule_cannot_tell(
    settings: Any, chat: Chat, member: Any, rule: dict[str, Any]
) -> None:
    kept = snapshot_without_the_key(settings, chat, member, **rule)
    assert {"id", "chat_id", "user_id", "role"} <= set(kept)


def test_a_list_keeps_only_those_fields(settings: Any, chat: Chat, member: Any) -> None:
    assert recorded_snapshot(settings, chat, member, ["chat", "role"]) == {
        "chat_id": chat.pk,
        "role": "moderator",
    }


def test_exclude_leaves_fields_out(settings: Any, chat: Chat, member: Any) -> None:
    kept = recorded_snapshot(settings, chat, member, {"exclude": ["role", "user"]})
    assert "role" not in kept and "user_id" not in kept and kept["chat_id"] == chat.pk


def test_false_keeps_nothing(settings: Any, chat: Chat, member: Any) -> None:
    assert recorded_snapshot(settings, chat, member, False) == {}


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        (["nope"], "'nope', which is not a concrete field of Membership"),
        ({"include": ["role"]}, "cannot be {'include': ['role']}"),
        ("role", "cannot be 'role'"),
        ([1], "should list field names"),
    ],
)
def test_a_bad_snapshot_key_is_check_e035(settings: Any, snapshot: Any, reason: str) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.email", snapshot=snapshot)
    [error] = [m for m in package_messages() if m.id == "django_notify_tasks.E029"]
    assert reason in error.msg
