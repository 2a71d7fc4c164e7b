"""Rule paths read data, they never change it: a part starting with ``_`` and a method marked
``alters_data`` (``delete``, ``save``) are refused by the checks and never called by a worker;
a placeholder value can never reach another namespace or another user's channel."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule
from tests.support.checks import package_messages
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:1/api"  # realtime on
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "key"


def rule_errors(settings: Any, rules: dict[str, Any]) -> list[str]:
    settings.NOTIFY_TASKS_RULES = rules
    return [
        f"{m.id}: {m.msg}" for m in package_messages() if m.id.startswith("django_notify_tasks.E")
    ]


def realtime(*channels: str) -> dict[str, Any]:
    return {
        "joined": {
            "model": "testapp.Membership",
            "on": ["created"],
            "realtime": {"channels": list(channels)},
        }
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("chat.delete", "'delete' alters data"),
        ("chat.save", "'save' alters data"),
        ("chat._meta", "'_meta' starts with '_'"),
        ("_state.db", "'_state' starts with '_'"),
    ],
)
def test_the_check_refuses_paths_that_alter_data_or_read_private_attributes(
    settings: Any, path: str, reason: str
) -> None:
    [error] = rule_errors(settings, email_rule(path))
    assert error.startswith("django_notify_tasks.E007") and reason in error


def test_the_check_refuses_such_paths_in_channel_placeholders(settings: Any) -> None:
    [error] = rule_errors(settings, realtime("chats:{instance.chat.delete}"))
    assert error.startswith("django_notify_tasks.E012") and "'delete' alters data" in error
    [error] = rule_errors(settings, realtime("chats:{instance._state}"))
    assert "is not allowed" in error


def test_a_worker_never_calls_a_method_that_alters_data(
    settings: Any, monkeypatch: Any, chat: Chat, member: Any
) -> None:
    # Past a property the checks cannot see the type, so the worker refuses on its own.
    monkeypatch.setattr(Chat, "owner", property(lambda chat: chat.admin), raising=False)
    settings.NOTIFY_TASKS_RULES = email_rule("chat.owner.delete")
    assert rule_errors(settings, settings.NOTIFY_TASKS_RULES) == []
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")
    assert Chat.objects.get().admin.is_active  # the admin, and with it the chat, still there
    [failed] = Delivery.objects.all()
    assert failed.status == "failed" and "'delete' alters data" in failed.error


def test_a_channel_template_needs_a_literal_namespace(settings: Any) -> None:
    [error] = rule_errors(settings, realtime("{instance.chat.title}:x"))
    assert "should start with a literal namespace" in error
    [error] = rule_errors(settings, realtime("chat{instance.chat_id}"))
    assert "should start with a literal namespace" in error
    assert rule_errors(settings, realtime("news", "personal:#{instance.user_id}")) == []


@pytest.mark.parametrize("title", ["1,2", "personal:#7", "a#b", "x y", "$secret"])
def test_a_placeholder_value_with_a_separator_fails_that_channel_only(
    settings: Any, chat: Chat, member: Any, title: str
) -> None:
    settings.NOTIFY_TASKS_RULES = realtime(
        "chats:{instance.chat_id}", "titles:{instance.chat.title}"
    )
    chat.title = title
    chat.save()
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")
    rows = {d.target: (d.status, d.error) for d in Delivery.objects.all()}
    assert rows[f"chats:{chat.pk}"] == ("pending", "")
    status, error = rows["titles:{instance.chat.title}"]
    assert status == "failed" and "characters other than letters, digits" in error
