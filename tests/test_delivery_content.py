"""A message's content is stored once per distinct rendering: a fan-out of one rendering
is one content row however many deliveries point at it; personal renderings are one each;
purge_old deletes the contents no delivery uses any more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_notify_tasks import reports
from django_notify_tasks.models import Delivery, DeliveryContent, Notification
from django_notify_tasks.processing import process_notification
from tests.conftest import email_rule
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )


def fan_out(settings: Any, chat: Chat, member: Any, count: int, body: str) -> None:
    readers = [f"reader{n:04}@chat.example" for n in range(count)]
    settings.NOTIFY_TASKS_RULES = email_rule(lambda membership: readers, subject="News", body=body)
    Membership.objects.create(chat=chat, user=member)
    process_notification(Notification.objects.get().pk, "default")


def test_one_rendering_for_a_thousand_readers_is_one_content_row(
    settings: Any, chat: Chat, member: Any
) -> None:
    fan_out(settings, chat, member, 1000, body="x" * 5000)
    assert Delivery.objects.count() == 1000
    [content] = DeliveryContent.objects.all()
    assert (content.subject, len(content.body)) == ("News", 5000)
    assert set(Delivery.objects.values_list("content_id", flat=True)) == {content.pk}
    assert Delivery.objects.first().body == "x" * 5000  # type: ignore[union-attr]


def test_a_personal_rendering_is_a_content_row_per_recipient(
    settings: Any, chat: Chat, member: Any
) -> None:
    fan_out(settings, chat, member, 3, body="Hi {{ recipient.address }}")
    assert DeliveryContent.objects.count() == 3
    bodies = sorted(Delivery.objects.values_list("content__body", flat=True))
    assert bodies == [f"Hi reader{n:04}@chat.example" for n in range(3)]


def test_a_row_saved_on_its_own_shares_the_content_it_says(
    settings: Any, chat: Chat, member: Any
) -> None:
    fan_out(settings, chat, member, 1, body="Same")
    alone = Delivery(
        notification=Notification.objects.get(), channel="email", target="a@x.example"
    )
    alone.subject, alone.body = "News", "Same"
    alone.save()
    assert DeliveryContent.objects.count() == 1 and alone.content_id is not None


def test_purge_old_deletes_contents_no_delivery_uses(
    settings: Any, chat: Chat, member: Any
) -> None:
    fan_out(settings, chat, member, 2, body="Old")
    Delivery.objects.update(status="sent")
    Notification.objects.update(status="processed")
    reports.purge_old(now=timezone.now() + timedelta(days=31))
    assert (Notification.objects.count(), DeliveryContent.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_content_into_shared_rows() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("django_notify_tasks", "0005_inbox_and_digests")],
        [("django_notify_tasks", "0006_delivery_content")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    parent = old.get_model("django_notify_tasks", "Notification").objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1"
    )
    OldDelivery = old.get_model("django_notify_tasks", "Delivery")  # noqa: N806
    for n, body in enumerate(["same", "same", "other", ""]):
        OldDelivery.objects.create(
            notification=parent, channel="email", target=f"{n}@x.example", subject="s", body=body
        )
    OldDelivery.objects.create(notification=parent, channel="email", target="empty@x.example")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor.loader.build_graph()
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    rows = dict(Delivery.objects.values_list("target", "content__body"))
    assert rows == {
        "0@x.example": "same",
        "1@x.example": "same",
        "2@x.example": "other",
        "3@x.example": "",
        "empty@x.example": None,  # nothing to say: no content row
    }
    assert DeliveryContent.objects.count() == 3  # same, other, and a subject with no body
