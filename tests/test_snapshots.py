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


def test_without_the_key_every_field_but_credentials_is_kept(
    settings: Any, chat: Chat, member: Any
) -> None:
    kept = recorded_snapshot(settings, chat, member, None)
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
