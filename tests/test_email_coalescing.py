"""A delivery run with its SMTP connection open also sends other notifications' waiting
emails on it, so a backlog costs one connection per batch, not one per message."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks import processing
from django_notify_tasks.channels import get_channel
from django_notify_tasks.deliveries import Outcome
from django_notify_tasks.exceptions import DeliveryFailed
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.sending import finish
from django_notify_tasks.tasks import deliver_email
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db

EMAIL = Delivery.Channel.EMAIL


@pytest.fixture(autouse=True)
def members_are_emailed(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("user.email", subject="Welcome {{ instance.user }}")


def waiting_deliveries(chat: Chat, count: int) -> list[Delivery]:
    """``count`` notifications processed, each with one pending email to its new member."""
    for n in range(count):
        Membership.objects.create(chat=chat, user=make_user(f"member{n:03}"))
    for notification_id in Notification.objects.order_by("pk").values_list("pk", flat=True):
        processing.process_notification(notification_id, "default")
    return list(Delivery.objects.filter(channel=EMAIL).order_by("pk"))


def test_one_run_sends_the_waiting_emails_of_other_notifications_on_its_connection(
    smtp_server: Any, chat: Chat, settings: Any
) -> None:
    settings.NOTIFY_TASKS_EMAIL_CONNECTIONS = 1  # with the default, 3: one message each
    first, *others = waiting_deliveries(chat, 3)
    deliver_email.apply(args=([first.pk],))
    assert smtp_server.handler.connections == 1
    rows = Delivery.objects.filter(channel=EMAIL).order_by("pk")
    assert [(row.status, row.attempts) for row in rows] == [(Delivery.Status.SENT, 1)] * 3
    assert sorted(m.message_id for m in smtp_server.messages) == sorted(r.message_id for r in rows)

    for other in others:  # their own tasks, when they run, find nothing left to send
        deliver_email.apply(args=([other.pk],))
    assert len(smtp_server.messages) == 3
    assert smtp_server.handler.connections == 1
    assert [row.attempts for row in rows.all()] == [1, 1, 1]


def test_a_run_takes_no_more_than_a_batch_and_leaves_retrying_rows_to_their_backoff(
    smtp_server: Any, chat: Chat
) -> None:
    size = get_channel(EMAIL).batch_size
    first, backing_off, *rest = waiting_deliveries(chat, size + 3)
    Delivery.objects.filter(pk=backing_off.pk).update(status=Delivery.Status.RETRYING)
    deliver_email.apply(args=([first.pk],))
    assert len(smtp_server.messages) == size
    backing_off.refresh_from_db()
    assert (backing_off.status, backing_off.attempts) == (Delivery.Status.RETRYING, 0)
    left = Delivery.objects.filter(status=Delivery.Status.PENDING).values_list("pk", flat=True)
    assert list(left) == [row.pk for row in rest[-2:]]  # the newest wait for the next run


def test_a_taken_emails_transient_failure_is_retried_by_the_run_that_took_it(
    settings: Any, smtp_server: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_MAX_RETRIES = 1
    first, taken = waiting_deliveries(chat, 2)
    smtp_server.handler.refuse[taken.target] = "451 4.3.0 try again later"
    deliver_email.apply(args=([first.pk],))  # eager: the retry runs at once
    first.refresh_from_db()
    taken.refresh_from_db()
    assert first.status == Delivery.Status.SENT
    assert (taken.status, taken.attempts) == (Delivery.Status.FAILED, 2)
    assert taken.error.startswith("gave up after 2 attempts: ")
    assert [m.envelope_to for m in smtp_server.messages] == [[first.target]]


def test_backoff_follows_the_rows_attempts_not_the_tasks_retries(
    settings: Any, monkeypatch: Any, chat: Chat
) -> None:
    # A run that re-queues transient rows beside a permanent failure starts a new task
    # (its retries count is 0): the rows' backoff must still grow with their attempts.
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 5
    settings.NOTIFY_TASKS_RETRY_BACKOFF_MAX = 600
    queued: list[float] = []
    monkeypatch.setattr(
        "django_notify_tasks.sending.queue_deliveries",
        lambda channel, ids, using="default", **options: queued.append(options["countdown"]),
    )
    monkeypatch.setattr("random.uniform", lambda low, high: high)  # the ceiling, no jitter
    failing, retrying = waiting_deliveries(chat, 2)
    outcome = Outcome(failed={failing.pk: "550 no such user"})
    retrying.attempts = 4  # three earlier attempts failed, this run's was the fourth
    outcome.to_retry(retrying, retrying.attempts)
    with pytest.raises(DeliveryFailed):
        finish(deliver_email, outcome, EMAIL, "default")
    assert queued == [5 * 2**3]
