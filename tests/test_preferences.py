"""Users turn opt-out rules off per channel: the Python API, the page, skipped deliveries, and
preferences read in one query per processing batch whatever the number of recipients."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_notify_tasks.models import Delivery, DeliveryContent, Notification, Preference
from django_notify_tasks.preferences import is_enabled, set_enabled, user_preferences
from django_notify_tasks.processing import DELIVERIES_PER_INSERT, process_notification
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


def opt_out_rule(*to: Any, **keys: Any) -> dict[str, Any]:
    rules = email_rule(*to)
    rules["member-joined"].update({"opt_out": True, "label": "New members", **keys})
    return rules


def process(chat: Chat, user: Any) -> list[tuple[str, str, str]]:
    Membership.objects.create(chat=chat, user=user)
    notification = Notification.objects.get()
    process_notification(notification.pk, "default")
    return [(d.target, d.status, d.error) for d in notification.deliveries.order_by("target")]


def test_api_reads_sets_and_lists_with_the_rules_default(settings: Any, chat: Chat) -> None:
    settings.NOTIFY_TASKS_RULES = {
        **opt_out_rule("chat.admin"),
        "digest": {**email_rule("chat.admin")["member-joined"], "opt_out": True, "default": "off"},
        "security": email_rule("chat.admin")["member-joined"],
    }
    alice = chat.admin
    assert is_enabled(alice, "member-joined", "email") is True
    assert is_enabled(alice, "digest", "email") is False
    set_enabled(alice, "member-joined", "email", False)
    set_enabled(alice, "digest", "email", True)
    assert [(p.rule, p.label, p.enabled) for p in user_preferences(alice)] == [
        ("digest", "digest", True),
        ("member-joined", "New members", False),
    ]
    with pytest.raises(ValueError, match="security"):
        set_enabled(alice, "security", "email", False)
    assert is_enabled(alice, "security", "email") is True


def test_an_opted_out_user_gets_a_skipped_delivery(
    settings: Any, chat: Chat, member: Any, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = opt_out_rule("chat.admin", "user")
    set_enabled(member, "member-joined", "email", False)

    assert process(chat, member) == [
        ("alice@chat.example", "pending", ""),
        ("bob@chat.example", "skipped", "not sent: the user turned this off"),
    ]


def test_default_off_sends_only_to_users_who_opted_in(
    settings: Any, chat: Chat, member: Any, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = opt_out_rule("chat.admin", "user", default="off")
    set_enabled(member, "member-joined", "email", True)

    assert process(chat, member) == [
        ("alice@chat.example", "skipped", "not sent: off by default"),
        ("bob@chat.example", "pending", ""),
    ]


def test_a_rule_without_opt_out_ignores_stored_preferences(
    settings: Any, chat: Chat, member: Any, enqueued: Any
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin")
    Preference.objects.create(
        user=chat.admin, rule="member-joined", channel="email", enabled=False
    )

    assert process(chat, member) == [("alice@chat.example", "pending", "")]


def queries_to_process(settings: Any, chat: Chat, recipients: int) -> int:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"u{recipients}-{i}", email=f"u{recipients}-{i}@chat.example")
        for i in range(recipients)
    )
    Preference.objects.bulk_create(
        Preference(user=user, rule="member-joined", channel="email", enabled=False)
        for user in users[::2]
    )
    names = [user.username for user in users]
    settings.NOTIFY_TASKS_RULES = opt_out_rule(
        lambda m: get_user_model().objects.filter(username__in=names)
    )
    Membership.objects.create(chat=chat, user=make_user(f"joiner{recipients}"))
    notification = Notification.objects.get(status="pending")
    with CaptureQueriesContext(connection) as captured:
        process_notification(notification.pk, "default")
    skipped = notification.deliveries.filter(status=Delivery.Status.SKIPPED).count()
    assert (skipped, notification.deliveries.count()) == (recipients // 2, recipients)
    statements = [q["sql"] for q in captured.captured_queries]
    assert sum("notify_tasks_preference" in sql for sql in statements) == 1
    inserts = [sql for sql in statements if sql.startswith("INSERT") and INTO_DELIVERY.search(sql)]
    assert len(inserts) == insert_statements(recipients)
    return len(statements) - len(inserts)


INTO_DELIVERY = re.compile(rf"INTO [`\"]?{Delivery._meta.db_table}[`\"]? ")


def insert_statements(rows: int) -> int:
    """The INSERTs of the batch's deliveries: chunks of ``DELIVERIES_PER_INSERT``, smaller
    where the database caps the parameters of a statement (SQLite before 3.32: 999). No
    other statement is per row."""
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    size = connection.ops.bulk_batch_size(fields, [Delivery()] * rows)
    return math.ceil(rows / min(size, DELIVERIES_PER_INSERT))


def test_queries_per_batch_do_not_grow_with_recipients(
    settings: Any, chat: Chat, enqueued: Any
) -> None:
    at_10 = queries_to_process(settings, chat, 10)
    Notification.objects.all().delete()
    DeliveryContent.objects.all().delete()  # the second run stores its content anew too
    at_1000 = queries_to_process(settings, chat, 1000)

    assert at_10 == at_1000, (at_10, at_1000)


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get("/notifications/preferences/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_page_lists_opt_out_rules_and_saves_the_form_with_csrf(
    settings: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = opt_out_rule(
        "chat.admin", description="When someone joins a chat you run."
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(chat.admin)
    page = browser.get("/notifications/preferences/")
    html = page.content.decode()
    assert 'value="member-joined:email" checked' in html
    assert "New members" in html and "When someone joins a chat you run." in html

    assert browser.post("/notifications/preferences/", {}).status_code == 403  # no token
    token = page.cookies["csrftoken"].value
    saved = browser.post("/notifications/preferences/", {"csrfmiddlewaretoken": token})

    assert saved.status_code == 302
    assert is_enabled(chat.admin, "member-joined", "email") is False
    assert "Your preferences are saved." in browser.get(saved["Location"]).content.decode()


def test_the_page_extends_the_hosts_base_template_when_named(
    settings: Any, client: Client, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = opt_out_rule("chat.admin")
    settings.NOTIFY_TASKS_BASE_TEMPLATE = "testapp/base.html"
    client.force_login(chat.admin)

    html = client.get("/notifications/preferences/").content.decode()

    assert "<nav>Test app</nav>" in html and "New members" in html


def test_a_realtime_section_gets_no_switch_it_would_not_honour(settings: Any, chat: Chat) -> None:
    """A publication goes to whoever subscribed to a channel: no user's preference applies
    to it, so the page offers only the switches that work."""
    rule = opt_out_rule("chat.admin")["member-joined"]
    settings.NOTIFY_TASKS_RULES = {
        "member-joined": {**rule, "realtime": {"channels": ["chats:{instance.chat_id}"]}}
    }
    assert [p.channel for p in user_preferences(chat.admin)] == ["email"]
    with pytest.raises(ValueError, match="realtime"):
        set_enabled(chat.admin, "member-joined", "realtime", False)
