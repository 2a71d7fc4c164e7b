"""The delivery log in the admin: list, filters, resend and cancel."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from django_notify_tasks.models import Delivery, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch: Any) -> list[tuple[str, tuple[Any, ...]]]:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        "celery.app.task.Task.apply_async",
        lambda self, args=None, kwargs=None, **options: calls.append((self.name, tuple(args))),
    )
    return calls


@pytest.fixture
def failed_delivery() -> Delivery:
    parent = Notification.objects.create(
        rule="member-joined",
        event="created",
        model="testapp.membership",
        object_pk="7",
        status="processed",
    )
    return Delivery.objects.create(
        notification=parent,
        channel="email",
        target="a@chat.example",
        status="failed",
        error="550 no",
        attempts=1,
    )


def test_changelist_filters_by_rule_status_and_channel(
    admin_client: Any, failed_delivery: Delivery
) -> None:
    url = reverse("admin:django_notify_tasks_notification_changelist")
    page = admin_client.get(
        url, {"rule": "member-joined", "status": "processed", "deliveries__channel": "email"}
    )
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert admin_client.get(url, {"rule": "other"}).context["cl"].result_count == 0
    detail = admin_client.get(
        reverse(
            "admin:django_notify_tasks_notification_change", args=[failed_delivery.notification_id]
        )
    )
    assert b"550 no" in detail.content  # the inline shows the delivery's error


@pytest.mark.django_db(transaction=True)
def test_resend_action_requeues_failed_deliveries(
    admin_client: Any, failed_delivery: Delivery, enqueued: Any
) -> None:
    url = reverse("admin:django_notify_tasks_notification_changelist")
    admin_client.post(
        url, {"action": "resend", "_selected_action": [failed_delivery.notification_id]}
    )
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts, failed_delivery.error) == (
        "pending",
        0,
        "",
    )
    assert enqueued == [("django_notify_tasks.deliver_email", ([failed_delivery.pk],))]


@pytest.mark.django_db(transaction=True)
def test_resend_renders_again_what_failed_before_any_attempt(
    admin_client: Any, failed_delivery: Delivery, enqueued: Any
) -> None:
    # A template error leaves a placeholder row with no content: resending that row would
    # send an empty message, so the notification is rendered again (the rule fixed since).
    notification = failed_delivery.notification
    notification.status = "processed"
    notification.save()
    Delivery.objects.create(
        notification=notification,
        channel="email",
        target="(all recipients)",
        status="failed",
        error="template error: TemplateSyntaxError: ...",
    )
    url = reverse("admin:django_notify_tasks_notification_changelist")
    page = admin_client.post(
        url, {"action": "resend", "_selected_action": [notification.pk]}, follow=True
    )
    assert "1 notification queued again." in page.content.decode()
    assert list(Delivery.objects.values_list("target", "status")) == [
        (failed_delivery.target, "pending")
    ]
    notification.refresh_from_db()
    assert notification.status == "pending"
    assert enqueued == [
        ("django_notify_tasks.process_notification", (notification.pk,)),
        ("django_notify_tasks.deliver_email", ([failed_delivery.pk],)),
    ]


def test_resend_of_nothing_to_send_says_so(admin_client: Any) -> None:
    sent = Notification.objects.create(
        rule="member-joined", event="created", model="testapp.membership", object_pk="1",
        status="processed",
    )  # fmt: skip
    Delivery.objects.create(
        notification=sent, channel="email", target="a@x.example", status="sent"
    )
    url = reverse("admin:django_notify_tasks_notification_changelist")
    page = admin_client.post(url, {"action": "resend", "_selected_action": [sent.pk]}, follow=True)
    assert "0 notifications queued again." in page.content.decode()


def test_cancel_action_stops_unsent_work(admin_client: Any, failed_delivery: Delivery) -> None:
    pending = Notification.objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1"
    )
    waiting = Delivery.objects.create(
        notification=failed_delivery.notification,
        channel="email",
        target="b@chat.example",
        status="retrying",
    )
    url = reverse("admin:django_notify_tasks_notification_changelist")
    ids = [pending.pk, failed_delivery.notification_id]
    admin_client.post(url, {"action": "cancel", "_selected_action": ids})
    pending.refresh_from_db()
    waiting.refresh_from_db()
    failed_delivery.refresh_from_db()
    assert (pending.status, waiting.status, failed_delivery.status) == (
        "cancelled",
        "cancelled",
        "failed",
    )


@pytest.mark.django_db(databases=["default", "other"])
def test_resend_and_cancel_work_in_the_querysets_database(
    monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_notify_tasks import operations

    enqueued: list[tuple[str, Any, Any]] = []
    monkeypatch.setattr(
        "celery.app.task.Task.apply_async",
        lambda self, args=None, kwargs=None, **o: enqueued.append((self.name, args, kwargs)),
    )

    parent = Notification.objects.using("other").create(
        rule="member-joined", event="created", model="testapp.membership", object_pk="7"
    )
    delivery = Delivery.objects.using("other").create(
        notification=parent, channel="email", target="a@x.example", status="failed", attempts=1
    )
    with django_capture_on_commit_callbacks(using="other", execute=True):
        operations.resend(Notification.objects.using("other").all())
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert enqueued == [
        ("django_notify_tasks.process_notification", (parent.pk,), {"using": "other"}),
        ("django_notify_tasks.deliver_email", ([delivery.pk],), {"using": "other"}),
    ]
    operations.cancel(Notification.objects.using("other").all())
    delivery.refresh_from_db()
    assert delivery.status == "cancelled"


def test_view_only_staff_cannot_resend_or_cancel(client: Any, django_user_model: Any) -> None:
    viewer = django_user_model.objects.create_user("viewer", "v@chat.example", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)
    page = client.get(reverse("admin:django_notify_tasks_notification_changelist"))
    assert page.status_code == 200
    assert b'value="resend"' not in page.content
    assert b'value="cancel"' not in page.content
