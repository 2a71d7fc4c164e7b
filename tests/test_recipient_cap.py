"""A notification with more distinct recipients than its cap sends nothing and says so on a
failed delivery: a rule that suddenly resolves to the whole user table fails loudly."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_notify_tasks import processing
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule
from tests.support.checks import package_messages
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def addresses(count: int) -> list[str]:
    return [f"reader{n:05}@chat.example" for n in range(count)]


def rows_for(settings: Any, chat: Chat, member: Any, count: int, **email: Any) -> list[Any]:
    rules = email_rule(lambda membership: addresses(count))
    rules["member-joined"]["email"].update(email)  # before the setting: rules parse then
    settings.NOTIFY_TASKS_RULES = rules
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")
    return list(Delivery.objects.values_list("target", "status", "error"))


def test_past_the_rules_cap_nothing_is_sent_and_the_row_says_why(
    settings: Any, chat: Chat, member: Any
) -> None:
    [(target, status, error)] = rows_for(settings, chat, member, 4, max_recipients=3)
    assert (target, status) == ("(recipients)", "failed")
    assert error.startswith("4 recipients, more than the cap of 3")


def test_the_setting_is_the_default_cap(settings: Any, chat: Chat, member: Any) -> None:
    settings.NOTIFY_TASKS_MAX_RECIPIENTS = 2
    [(_, status, error)] = rows_for(settings, chat, member, 3)
    assert status == "failed" and "cap of 2" in error


def test_at_the_cap_every_recipient_gets_a_row(settings: Any, chat: Chat, member: Any) -> None:
    assert len(rows_for(settings, chat, member, 3, max_recipients=3)) == 3


def test_a_large_fan_out_is_written_in_bounded_statements(
    settings: Any, monkeypatch: Any, chat: Chat, member: Any
) -> None:
    monkeypatch.setattr(processing, "DELIVERIES_PER_INSERT", 10)  # 25 rows fit one statement
    with CaptureQueriesContext(connection) as captured:
        rows = rows_for(settings, chat, member, 25)
    into = f'INTO "{Delivery._meta.db_table}" ('
    inserts = [q for q in captured if q["sql"].startswith("INSERT") and into in q["sql"]]
    assert len(rows) == 25
    assert len(inserts) == 3  # 10, 10 and 5


@pytest.mark.parametrize("cap", [0, -1, "10", True])
def test_a_bad_cap_is_check_e036(settings: Any, cap: Any) -> None:
    rules = email_rule("chat.admin.email", subject="s", body="b")
    rules["member-joined"]["email"]["max_recipients"] = cap
    settings.NOTIFY_TASKS_RULES = rules
    [error] = [m for m in package_messages() if m.id == "django_notify_tasks.E030"]
    assert repr(cap) in error.msg
