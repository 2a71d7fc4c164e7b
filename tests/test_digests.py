"""Per-user digests: held rows of several rules go out as one message, exactly one digest per
user per window even with two workers at once, and mail past a throttle is folded into the
digest, never dropped."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from django_notify_tasks.channels.email.digests import send_due_digests
from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.models import Delivery, Digest, Notification
from django_notify_tasks.processing import process_pending
from django_notify_tasks.rules import parse_rule
from django_notify_tasks.sending import send_batch
from tests.conftest import make_user
from tests.testapp.models import Chat, Membership

LATER = timezone.now() + timedelta(days=2)


def rule(subject: str, **email: Any) -> dict[str, Any]:
    section = {"to": ["chat.admin"], "subject": subject, "body": "{{ instance.user }}", **email}
    return {"model": "testapp.Membership", "on": ["created"], "email": section}


def process_all(count: int) -> None:
    for notification in Notification.objects.order_by("pk")[:count]:
        process_pending(notification.pk, "default", limit=1)


@pytest.mark.django_db
def test_a_digest_collects_items_of_three_rules_into_one_message(
    settings: Any, chat: Chat, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = {
        "a": rule("A joined", digest="hourly"),
        "b": rule("B joined", digest="daily"),
        "c": rule("C joined", digest={"every": 600}),
    }
    Membership.objects.create(chat=chat, user=make_user("bob"))
    process_pending(Notification.objects.earliest("pk").pk, "default")
    held = Delivery.objects.filter(status="held")
    assert held.count() == 3 and mail.outbox == []

    [digest_id] = send_due_digests("email", "default", now=LATER)
    send_batch([digest_id], "email", "default")

    [message] = mail.outbox
    assert (message.to, message.subject) == (["alice@chat.example"], "3 notifications")
    assert [line for line in message.body.splitlines() if line.startswith("*")] == [
        "* A joined", "* B joined", "* C joined",
    ]  # fmt: skip
    assert set(Delivery.objects.exclude(pk=digest_id).values_list("status", flat=True)) == {
        "digested"
    }
    assert send_due_digests("email", "default", now=LATER) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_two_ticks_make_exactly_one_digest(
    settings: Any, chat: Chat, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"a": rule("A", digest="hourly"), "b": rule("B", digest="daily")}
    for name in ("bob", "carol", "dan"):
        Membership.objects.create(chat=chat, user=make_user(name))
    process_pending(Notification.objects.earliest("pk").pk, "default")
    start = threading.Barrier(2)
    made: list[int] = []

    def worker() -> None:
        try:
            start.wait()
            for _tick in range(2):
                made.extend(send_due_digests("email", "default", now=LATER))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(made) == 1
    assert list(Digest.objects.values_list("items", flat=True)) == [6]
    assert Delivery.objects.filter(status="digested").count() == 6


@pytest.mark.django_db
def test_held_rows_of_a_deleted_user_end_skipped_at_the_next_tick(
    settings: Any, chat: Chat, notify_tasks_outbox: list[int]
) -> None:
    section = {"to": ["user"], "subject": "Welcome", "body": "Hi", "digest": "hourly"}
    settings.NOTIFY_TASKS_RULES = {"a": {"model": "testapp.Membership", "on": ["created"],
                                         "email": section}}  # fmt: skip
    bob, carol = make_user("bob"), make_user("carol")
    for user in (bob, carol):
        Membership.objects.create(chat=chat, user=user)
    process_all(2)
    assert Delivery.objects.filter(status="held").count() == 2

    bob.delete()
    [digest_id] = send_due_digests("email", "default", now=LATER)

    assert Delivery.objects.get(pk=digest_id).target == "carol@chat.example"
    orphan = Delivery.objects.get(target="bob@chat.example")
    assert (orphan.status, orphan.user_id) == ("skipped", None)
    assert orphan.error == "not sent: the user was deleted before their digest"
    assert not Delivery.objects.filter(status="held").exists()


@pytest.mark.django_db
def test_the_eleventh_message_past_the_throttle_is_folded_into_the_digest(
    settings: Any, chat: Chat, notify_tasks_outbox: list[int]
) -> None:
    settings.NOTIFY_TASKS_RULES = {"a": rule("A", throttle={"max": 10, "per": 3600})}
    for n in range(11):
        Membership.objects.create(chat=chat, user=make_user(f"user{n}"))
    process_all(11)

    statuses = list(Delivery.objects.order_by("pk").values_list("status", "error"))
    assert statuses[:10] == [("pending", "")] * 10
    assert statuses[10] == ("held", "held for the digest: over the throttle of 10 per 3600 s")
    [digest_id] = send_due_digests("email", "default", now=LATER)
    send_batch([digest_id], "email", "default")
    # The batch carries the ten waiting messages too (one connection): nothing dropped.
    assert sorted(m.subject for m in mail.outbox) == ["1 notification"] + ["A"] * 10


@pytest.mark.django_db
def test_a_user_may_choose_immediate_where_the_rule_allows(
    settings: Any, chat: Chat, notify_tasks_outbox: list[int]
) -> None:
    from django_notify_tasks.models import Preference

    settings.NOTIFY_TASKS_RULES = {"a": rule("A", digest={"every": "hourly", "default": "digest"})}
    Preference.objects.create(user=chat.admin, rule="a", channel="email:digest", enabled=False)
    Membership.objects.create(chat=chat, user=make_user("bob"))

    process_pending(Notification.objects.earliest("pk").pk, "default")

    assert list(Delivery.objects.values_list("status", flat=True)) == ["pending"]


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [("digest", "weekly", "E027"), ("digest", {"every": 5}, "E027"),
     ("throttle", {"max": 10}, "E028"), ("throttle", {"max": 0, "per": 60}, "E028")],
)  # fmt: skip
@pytest.mark.django_db
def test_bad_digest_and_throttle_keys_are_checks(key: str, value: object, check_id: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("r", rule("A", **{key: value}))
    assert caught.value.check_id == check_id
