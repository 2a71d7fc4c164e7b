"""The request path: which events record a notification, and what it costs the host."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_notify_tasks import notify, notify_bulk
from django_notify_tasks.models import Notification
from django_notify_tasks.recording import snapshot
from django_notify_tasks.signals import UnknownRuleError
from tests.conftest import make_user
from tests.testapp.models import Chat, Membership, ModeratorMembership

pytestmark = pytest.mark.django_db

EMAIL = {"to": ["admin.email"], "subject": "s", "body": "b"}
MEMBER_EMAIL = {"to": ["chat.admin.email"], "subject": "s", "body": "b"}


def rows(**filters: Any) -> list[tuple[str, str, str, str]]:
    found = Notification.objects.filter(**filters).order_by("pk")
    return [(n.rule, n.event, n.object_pk, n.related_pk) for n in found]


def test_created_records_and_enqueues_only_after_commit(
    chat: Chat, member: Any, enqueued: list[list[int]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        membership = Membership.objects.create(chat=chat, user=member)
        assert enqueued == []
    notification = Notification.objects.get()
    assert (notification.rule, notification.event) == ("member-joined", "created")
    assert notification.object_pk == str(membership.pk)
    assert notification.snapshot["chat_id"] == chat.pk
    assert notification.snapshot["user_id"] == member.pk
    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [[notification.pk]]


@pytest.mark.django_db(transaction=True)
def test_rollback_records_and_enqueues_nothing(
    chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        Membership.objects.create(chat=chat, user=member)
        raise RuntimeError("the view failed")
    assert Notification.objects.count() == 0
    assert enqueued == []


@pytest.mark.django_db(transaction=True)
def test_commit_enqueues_the_recorded_id(
    chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)
        assert enqueued == []
    assert enqueued == [[Notification.objects.get().pk]]


def test_request_path_runs_no_select_and_one_insert(
    settings: Any, chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        name: {"model": "testapp.Membership", "on": ["created"], "email": MEMBER_EMAIL}
        for name in ("first", "second", "third")
    }
    membership = Membership(chat=chat, user=member)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        membership.save()
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert "SELECT" not in statements
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(inserts) == 2  # the host's row, then all three notifications in one statement
    assert "django_notify_tasks_notification" in inserts[1]
    assert len(rows()) == 3


def test_updated_fires_only_when_a_listed_field_changed(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "renamed": {
            "model": "testapp.Chat",
            "on": ["updated"],
            "fields": ["title"],
            "email": EMAIL,
        }
    }
    chat = Chat.objects.get(pk=chat.pk)
    chat.topic = "roses"
    chat.save()
    chat.save()
    assert rows() == []
    chat.title = "Roses"
    chat.save()
    assert len(rows()) == 1
    chat.save()  # nothing changed since the last save
    assert len(rows()) == 1
    created = Chat.objects.create(title="New", admin=chat.admin)
    created.title = "Renamed"
    created.save()
    assert len(rows()) == 2


def test_updated_respects_update_fields(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "renamed": {
            "model": "testapp.Chat",
            "on": ["updated"],
            "fields": ["title"],
            "email": EMAIL,
        }
    }
    loaded = Chat.objects.get(pk=chat.pk)
    loaded.title = "Roses"
    loaded.save(update_fields=["topic"])  # the title change is not saved: no event
    assert rows() == []
    loaded.save(update_fields=["title"])
    assert len(rows()) == 1


def test_updated_tracks_foreign_keys_by_field_name(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "new-admin": {
            "model": "testapp.Chat",
            "on": ["updated"],
            "fields": ["admin"],
            "email": EMAIL,
        }
    }
    loaded = Chat.objects.get(pk=chat.pk)
    loaded.title = "Other"
    loaded.save()
    assert rows() == []
    loaded.admin = make_user("zoe")
    loaded.save(update_fields=["admin"])
    assert len(rows()) == 1


def test_deleted_records_a_snapshot(settings: Any, chat: Chat, enqueued: list[list[int]]) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "gone": {
            "model": "testapp.Chat",
            "on": ["deleted"],
            "email": {**EMAIL, "subject": "{{ instance.title }}"},
        }
    }
    chat_pk = chat.pk
    chat.delete()
    notification = Notification.objects.get()
    assert (notification.event, notification.object_pk) == ("deleted", str(chat_pk))
    assert notification.snapshot == {
        "id": chat_pk,
        "title": "Gardening",
        "admin_id": chat.admin_id,
    }


def test_m2m_added_from_both_sides_one_notification_per_object(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "joined": {"model": "testapp.Chat.members", "on": ["m2m_added"], "email": EMAIL}
    }
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    chat.members.add(bob, carol)
    dave.chats.add(chat)
    expected = [("joined", "m2m_added", str(chat.pk), str(u.pk)) for u in (bob, carol, dave)]
    assert rows() == expected
    assert {n.related_model for n in Notification.objects.all()} == {"auth.user"}


def test_m2m_readding_and_removing(settings: Any, chat: Chat, enqueued: list[list[int]]) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "left": {"model": "testapp.Chat.members", "on": ["m2m_removed"], "email": EMAIL}
    }
    bob = make_user("bob")
    chat.members.add(bob)
    chat.members.add(bob)  # already there: Django sends an empty pk_set
    assert rows() == []
    bob.chats.remove(chat)
    assert rows() == [("left", "m2m_removed", str(chat.pk), str(bob.pk))]


def test_fixture_loading_triggers_nothing(
    tmp_path: Any, chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    fixture = tmp_path / "memberships.json"
    fields = {
        "chat": chat.pk,
        "user": member.pk,
        "role": "member",
        "joined_at": "2026-01-01T00:00:00Z",
    }
    fixture.write_text(json.dumps([{"model": "testapp.membership", "pk": 99, "fields": fields}]))
    call_command("loaddata", str(fixture), verbosity=0)
    assert Membership.objects.filter(pk=99).exists()
    assert rows() == []


def test_condition_filters_and_a_raising_condition_never_breaks_save(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    def explode(instance: Any, event: str) -> bool:
        raise ZeroDivisionError

    settings.NOTIFY_TASKS_RULES = {
        "admins": {
            "model": "testapp.Membership",
            "on": ["created"],
            "condition": lambda m, event: m.role == "admin",
            "email": MEMBER_EMAIL,
        },
        "broken": {
            "model": "testapp.Membership",
            "on": ["created"],
            "condition": explode,
            "email": MEMBER_EMAIL,
        },
    }
    Membership.objects.create(chat=chat, user=make_user("bob"))
    Membership.objects.create(chat=chat, user=make_user("carol"), role="admin")
    assert [r[0] for r in rows()] == ["admins"]


@pytest.mark.django_db(transaction=True)
def test_host_save_survives_a_failing_outbox_insert(
    monkeypatch: Any, chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    # As if migrations were not applied: the real INSERT fails inside the host's transaction.
    monkeypatch.setattr(Notification._meta, "db_table", "no_such_table")
    with transaction.atomic():
        Membership.objects.create(chat=chat, user=member)
        Chat.objects.create(title="still usable", admin=member)
    assert Membership.objects.count() == 1
    assert Chat.objects.filter(title="still usable").exists()
    assert enqueued == []


def test_notify_and_notify_bulk_use_one_insert(
    chat: Chat, enqueued: list[list[int]], django_capture_on_commit_callbacks: Any
) -> None:
    memberships = [Membership.objects.create(chat=chat, user=make_user(n)) for n in "xyz"]
    Notification.objects.all().delete()
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        ids = notify_bulk("member-joined", memberships)
    assert sum("INSERT INTO" in q["sql"] for q in queries.captured_queries) == 1
    assert len(ids) == 3
    assert enqueued == [ids]
    [single] = notify("member-joined", memberships[0], event="manual", related=chat)
    assert rows(pk=single) == [("member-joined", "manual", str(memberships[0].pk), str(chat.pk))]


def test_notify_applies_the_rule_condition(
    settings: Any, chat: Chat, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "admins": {
            "model": "testapp.Chat",
            "on": ["created"],
            "condition": lambda c, event: c.title.startswith("A"),
            "email": EMAIL,
        }
    }
    assert notify("admins", chat) == []
    assert len(notify_bulk("admins", [Chat(pk=9, title="Apples", admin=chat.admin), chat])) == 1


def test_notify_unknown_rule_names_it() -> None:
    with pytest.raises(UnknownRuleError, match="rule_name='nope'"):
        notify("nope", Chat())


def test_saving_through_a_proxy_model_is_the_same_event(
    settings: Any, chat: Chat, member: Any, enqueued: list[list[int]]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "role-changed": {
            "model": "testapp.Membership",
            "on": ["created", "updated", "deleted"],
            "fields": ["role"],
            "email": MEMBER_EMAIL,
        }
    }
    moderator = ModeratorMembership.objects.create(chat=chat, user=member)
    loaded = ModeratorMembership.objects.get(pk=moderator.pk)
    loaded.role = "moderator"
    loaded.save()
    loaded.save()  # nothing changed: the proxy tracks the rule's fields too
    loaded.delete()
    assert [event for _, event, _, _ in rows()] == ["created", "updated", "deleted"]


def test_snapshot_keeps_json_values_and_turns_the_others_into_text(chat: Chat) -> None:
    chat.topic = PurePosixPath("/gardening")  # what no JSON encoder takes
    values = snapshot(chat)
    assert values["title"] == "Gardening"
    assert values["topic"] == "/gardening"
    joined = snapshot(Membership(chat=chat, user=chat.admin, joined_at=datetime(2026, 1, 1)))
    assert joined["joined_at"] == datetime(2026, 1, 1)  # DjangoJSONEncoder writes it later
    assert joined["chat_id"] == chat.pk


def test_snapshot_never_holds_the_password_hash(member: Any) -> None:
    assert member.password
    assert "password" not in snapshot(member)
    assert snapshot(member)["username"] == "bob"
