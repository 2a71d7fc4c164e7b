"""A processing run takes its own notification and the oldest other pending ones, claimed so
that no two runs take the same row, and sends the first batch of each channel itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from django_notify_tasks import operations, processing
from django_notify_tasks.channels import get_channel
from django_notify_tasks.channels.email import content as email_content
from django_notify_tasks.exceptions import DeliveryFailed
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import NOTIFICATIONS_PER_RUN, process_pending
from django_notify_tasks.tasks import process_notification
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db

EMAIL = Delivery.Channel.EMAIL
PENDING = Notification.Status.PENDING


@pytest.fixture(autouse=True)
def members_are_emailed(settings: Any) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("user.email", subject="Welcome {{ instance.user }}")


@pytest.fixture
def queued(monkeypatch: Any) -> list[tuple[str, list[int]]]:
    """What would go to the broker: (task name, ids)."""
    sent: list[tuple[str, list[int]]] = []

    def enqueue(task_name: str, args: Any, using: str = "default", **options: Any) -> bool:
        sent.append((task_name.rpartition(".")[2], list(args[0])))
        return True

    monkeypatch.setattr("django_notify_tasks.sending.enqueue", enqueue)
    monkeypatch.setattr("django_notify_tasks.dispatch.enqueue_notifications", lambda *a: None)
    return sent


def new_members(chat: Chat, count: int, start: int = 0) -> list[int]:
    """``count`` pending notifications, oldest first."""
    for n in range(start, start + count):
        Membership.objects.create(chat=chat, user=make_user(f"member{n:03}"))
    return list(
        Notification.objects.filter(status=PENDING).order_by("pk").values_list("pk", flat=True)
    )


def statuses() -> list[str]:
    return list(Notification.objects.order_by("pk").values_list("status", flat=True))


def selects_from(queries: CaptureQueriesContext, table: str) -> int:
    return sum(
        1 for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f"FROM {connection.ops.quote_name(table)}" in q["sql"]
    )  # fmt: skip


def test_a_run_takes_the_oldest_pending_notifications_along_up_to_a_batch(
    queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, NOTIFICATIONS_PER_RUN + 2)
    newest = ids[-1]
    pending = process_pending(newest, "default")
    # Its own notification, and the oldest others: the two past the batch wait.
    left = Notification.objects.filter(status=PENDING).order_by("pk").values_list("pk", flat=True)
    assert list(left) == ids[NOTIFICATIONS_PER_RUN - 1 : NOTIFICATIONS_PER_RUN + 1]
    assert len(pending[EMAIL]) == NOTIFICATIONS_PER_RUN
    targets = Delivery.objects.filter(pk__in=pending[EMAIL]).values_list("target", flat=True)
    newest_address, first_left = (
        f"member{n:03}@chat.example"
        for n in (NOTIFICATIONS_PER_RUN + 1, NOTIFICATIONS_PER_RUN - 1)
    )
    assert newest_address in targets and first_left not in targets  # fmt: skip
    # The tasks queued for the others find their notification done.
    assert processing.process_notification(ids[0], "default") == {}


def test_the_rows_of_a_batch_are_loaded_in_one_query_per_model(queued: Any, chat: Chat) -> None:
    ids = new_members(chat, 10)
    with CaptureQueriesContext(connection) as queries:
        process_pending(ids[0], "default")
    assert selects_from(queries, "testapp_membership") == 1
    assert statuses() == [Notification.Status.PROCESSED] * 10


def test_a_run_that_decided_its_whole_batch_has_no_claim_to_give_back(
    queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 10)
    with CaptureQueriesContext(connection) as queries:
        process_pending(ids[0], "default")
    table = connection.ops.quote_name(Notification._meta.db_table)
    notification_statements = [
        q["sql"].split()[0] for q in queries.captured_queries if table in q["sql"]
    ]
    # choose (2), claim, load the batch, re-check it under the write lock, record: no release
    assert notification_statements == ["SELECT", "SELECT", "UPDATE", "SELECT", "SELECT", "UPDATE"]
    assert statuses() == [Notification.Status.PROCESSED] * 10


def test_a_second_run_takes_other_rows_than_the_one_deciding(
    settings: Any, queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 4)
    started: list[bool] = []
    second_run: list[dict[str, list[int]]] = []

    def recipients(instance: Membership) -> list[str]:
        if not started:  # while the first run decides, a second run starts
            started.append(True)
            later = new_members(chat, 1, start=100)[-1]
            second_run.append(process_pending(later, "default"))
        return [instance.user.email]

    settings.NOTIFY_TASKS_RULES = email_rule(recipients)
    first_run = process_pending(ids[0], "default")
    assert len(first_run[EMAIL]) == 4
    [[only]] = [run[EMAIL] for run in second_run]  # its own, none of the four claimed
    assert Delivery.objects.get(pk=only).target == "member100@chat.example"
    assert Delivery.objects.count() == 5
    assert statuses() == [Notification.Status.PROCESSED] * 5


def test_a_run_that_stops_on_a_database_error_gives_its_claims_back(
    monkeypatch: Any, queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 3)

    def broken(*args: Any) -> None:
        raise DatabaseError("the database went away")

    monkeypatch.setattr(processing, "_record", broken)
    with pytest.raises(DatabaseError):
        process_pending(ids[0], "default")
    assert statuses() == [PENDING] * 3
    assert set(Notification.objects.values_list("claim_token", flat=True)) == {""}
    monkeypatch.undo()
    monkeypatch.setattr("django_notify_tasks.dispatch.enqueue_notifications", lambda *a: None)
    assert len(process_pending(ids[2], "default")[EMAIL]) == 3  # claimable again at once


def test_resend_clears_the_claim_of_a_failed_notification(queued: Any, chat: Chat) -> None:
    [notification_id] = new_members(chat, 1)
    Notification.objects.update(
        status=Notification.Status.FAILED, claim_token="run-that-failed", error="boom"
    )
    Notification.objects.update(claimed_at=Notification.objects.get().created_at)
    operations.resend(Notification.objects.all())
    assert len(process_pending(notification_id, "default")[EMAIL]) == 1


def test_the_processing_task_sends_the_first_batch_itself(queued: Any, chat: Chat) -> None:
    [notification_id] = new_members(chat, 1)
    process_notification.apply(args=(notification_id,))
    assert [m.to for m in mail.outbox] == [["member000@chat.example"]]
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert queued == []  # nothing more through the broker


def test_a_fan_out_past_a_batch_goes_on_in_delivery_tasks(
    settings: Any, queued: Any, chat: Chat
) -> None:
    size = get_channel(EMAIL).batch_size
    addresses = [f"reader{n:03}@chat.example" for n in range(size + 7)]
    settings.NOTIFY_TASKS_RULES = email_rule(lambda membership: addresses)
    [notification_id] = new_members(chat, 1)
    process_notification.apply(args=(notification_id,))
    assert len(mail.outbox) == size
    [(task, rest)] = queued
    assert task == "deliver_email" and len(rest) == 7
    assert Delivery.objects.filter(pk__in=rest, status=Delivery.Status.PENDING).count() == 7


def test_the_processing_task_fails_when_a_delivery_it_sent_failed_for_good(
    settings: Any, queued: Any, smtp_server: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("user.email", "gone@chat.example")
    smtp_server.handler.refuse["gone@chat.example"] = "550 5.1.1 no such user"
    [notification_id] = new_members(chat, 1)
    result = process_notification.apply(args=(notification_id,))
    assert [m.envelope_to for m in smtp_server.messages] == [["member000@chat.example"]]
    assert result.failed() and isinstance(result.result, DeliveryFailed)
    # The task's error shows in Flower and logs: ids and classes, never the address.
    [failed] = Delivery.objects.filter(status="failed")
    assert str(result.result) == (
        f"1 delivery(ies) failed: #{failed.pk} (SMTPRecipientsRefused); "
        "the reasons are on the Delivery rows"
    )
    assert "gone@chat.example" not in str(result.result)
    assert "550, b'5.1.1 no such user" in failed.error  # the reason stays on the row
    assert queued == []  # a permanent failure is not retried


def test_a_redelivered_task_sends_what_a_dead_run_left(queued: Any, chat: Chat) -> None:
    [notification_id] = new_members(chat, 1)
    processing.process_notification(notification_id, "default")  # then the run died
    assert mail.outbox == []
    process_notification.apply(args=(notification_id,))  # the broker hands it out again
    assert [m.to for m in mail.outbox] == [["member000@chat.example"]]


def test_inline_templates_are_compiled_once_not_for_each_notification(
    monkeypatch: Any, queued: Any, chat: Chat
) -> None:
    from django.template import Engine

    compiled: list[str] = []
    compile_template = Engine.from_string

    def counting(engine: Engine, source: str) -> Any:
        compiled.append(source)
        return compile_template(engine, source)

    monkeypatch.setattr(Engine, "from_string", counting)
    email_content._compiled.cache_clear()
    ids = new_members(chat, 3)
    process_pending(ids[0], "default")
    assert sorted(compiled) == [".", "Welcome {{ instance.user }}"]  # body, subject: once
    assert Delivery.objects.filter(content__subject__startswith="Welcome member").count() == 3


def test_the_relations_a_to_path_walks_are_loaded_once_for_the_batch(
    settings: Any, queued: Any, chat: Chat
) -> None:
    other = Chat.objects.create(title="Chess", admin=make_user("carol"))
    settings.NOTIFY_TASKS_RULES = email_rule(
        "chat.admin.email", subject="{{ instance.chat.admin.username }}: {{ instance.user }}"
    )
    for n in range(8):
        Membership.objects.create(chat=(chat, other)[n % 2], user=make_user(f"reader{n}"))
    with CaptureQueriesContext(connection) as queries:
        process_pending(Notification.objects.order_by("pk").first().pk, "default")
    assert selects_from(queries, "testapp_chat") == 1
    # The admins in one query; the template's instance.user is no `to` path: row by row.
    assert selects_from(queries, "auth_user") == 1 + 8
    subjects = Delivery.objects.order_by("pk").values_list("target", "content__subject")
    assert list(subjects)[:2] == [
        ("alice@chat.example", "alice: reader0"),
        ("carol@chat.example", "carol: reader1"),
    ]


def test_a_to_path_through_something_not_a_relation_still_resolves(
    settings: Any, queued: Any, chat: Chat
) -> None:
    settings.NOTIFY_TASKS_RULES = email_rule("chat.admin.get_username")  # a method, no field
    ids = new_members(chat, 2)
    process_pending(ids[0], "default")
    # "chat.admin" is prefetched, and the method is called on each row, as without a batch;
    # its value is no address, so each notification records a failed delivery.
    errors = Delivery.objects.values_list("status", "error")
    assert list(errors) == [(Delivery.Status.FAILED, "invalid email address 'alice'")] * 2


def failing_loads(monkeypatch: Any, fails: Any) -> None:
    """Loading a notification's instance raises a DatabaseError where ``fails(pk)``."""
    load_instance = processing.load_instance

    def load(notification: Notification, *args: Any) -> Any:
        if fails(notification.pk):
            raise DatabaseError("could not read block 7 in file base/16384/2619")
        return load_instance(notification, *args)

    monkeypatch.setattr(processing, "load_instance", load)


def test_a_database_error_deciding_one_notification_does_not_hold_back_its_batch(
    monkeypatch: Any, queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 3)
    failing_loads(monkeypatch, lambda pk: pk == ids[1])
    assert len(process_pending(ids[0], "default")[EMAIL]) == 2
    assert statuses() == [Notification.Status.PROCESSED, PENDING, Notification.Status.PROCESSED]
    assert Notification.objects.get(pk=ids[1]).claim_token == ""  # for the sweeper, at once


def test_a_batch_in_which_every_notification_hits_a_database_error_ends_the_run(
    monkeypatch: Any, queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 3)
    failing_loads(monkeypatch, lambda pk: True)
    with pytest.raises(DatabaseError, match="could not read block"):
        process_pending(ids[0], "default")
    assert statuses() == [PENDING] * 3
    assert set(Notification.objects.values_list("claim_token", flat=True)) == {""}


def test_a_notification_whose_model_is_no_longer_installed_does_not_stop_its_batch(
    queued: Any, chat: Chat
) -> None:
    ids = new_members(chat, 3)
    Notification.objects.filter(pk=ids[1]).update(model="retired.membership")
    process_pending(ids[0], "default")
    assert PENDING not in statuses()
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() >= 2


def test_a_run_out_of_time_queues_the_next_channel_instead_of_sending_it(
    settings: Any, monkeypatch: Any, queued: Any, chat: Chat
) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:1/api"  # realtime on
    settings.NOTIFY_TASKS_RULES = email_rule("user.email", realtime={"channels": ["chats"]})

    def out_of_time(*args: Any) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("django_notify_tasks.channels.realtime.publish.publish_each", out_of_time)
    [notification_id] = new_members(chat, 1)
    process_notification.apply(args=(notification_id,))
    assert mail.outbox == []  # realtime went first and used up the time
    [realtime_row] = Delivery.objects.filter(channel=Delivery.Channel.REALTIME)
    [email_row] = Delivery.objects.filter(channel=EMAIL)
    assert realtime_row.status == Delivery.Status.RETRYING
    assert email_row.status == Delivery.Status.PENDING
    assert queued == [("publish_realtime", [realtime_row.pk]), ("deliver_email", [email_row.pk])]
