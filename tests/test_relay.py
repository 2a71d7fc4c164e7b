"""The outbox relay in this process: a save in relay mode publishes nothing, the in-thread
worker's relay hands the row over, one relay holds a database's lease, errors end no relay."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import OperationalError, connections, transaction
from kombu.messaging import Producer

from django_notify_tasks import relay
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN
from django_notify_tasks.relay_leases import lease_for
from django_notify_tasks.testing import capture_dispatch
from tests.support.services import SmtpServer, wait_for
from tests.testapp.models import Chat

pytestmark = pytest.mark.django_db(transaction=True)

CHAT_RULE = {
    "chat-created": {
        "model": "testapp.Chat",
        "on": ["created"],
        "email": {"to": ["admin.email"], "subject": "{{ instance.title }}", "body": "."},
    }
}


@pytest.fixture
def publishes(monkeypatch: Any) -> list[str]:
    """The name of the thread of each message published to the broker during the test."""
    names: list[str] = []
    original = Producer.publish

    def publish(self: Producer, *args: Any, **kwargs: Any) -> Any:
        names.append(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Producer, "publish", publish)
    return names


@pytest.fixture
def relay_mode(settings: Any, smtp_server: SmtpServer) -> None:
    settings.NOTIFY_TASKS_RULES = CHAT_RULE
    settings.NOTIFY_TASKS_DISPATCH = "relay"


def test_save_in_relay_mode_publishes_nothing_and_the_relay_delivers(
    celery_worker: Any, relay_mode: None, smtp_server: SmtpServer, publishes: list[str],
    chat_admin: Any,
) -> None:  # fmt: skip
    with transaction.atomic():
        Chat.objects.create(title="Relayed", admin=chat_admin)
    assert publishes == []  # nothing on the request path, before or at commit

    wait_for(lambda: len(smtp_server.messages) == 1, message="the email sent")
    assert smtp_server.messages[0].subject == "Relayed"
    assert "notify-tasks-relay-default" in publishes


def test_the_relay_hands_a_backlog_over_one_task_per_processing_batch(
    celery_worker: Any, relay_mode: None, smtp_server: SmtpServer, publishes: list[str],
    chat_admin: Any,
) -> None:  # fmt: skip
    count = 2 * NOTIFICATIONS_PER_RUN + 20
    with transaction.atomic():
        for n in range(count):
            Chat.objects.create(title=f"Backlog {n}", admin=chat_admin)

    wait_for(lambda: len(smtp_server.messages) == count, message=f"{count} emails sent")
    assert publishes.count("notify-tasks-relay-default") == 3  # one task per run's batch
    assert len({message.subject for message in smtp_server.messages}) == count


def test_save_in_on_commit_mode_publishes_once_after_commit(
    celery_worker: Any, settings: Any, smtp_server: SmtpServer, publishes: list[str],
    chat_admin: Any,
) -> None:  # fmt: skip
    settings.NOTIFY_TASKS_RULES = CHAT_RULE
    settings.NOTIFY_TASKS_DISPATCH = "on_commit"
    with transaction.atomic():
        Chat.objects.create(title="On commit", admin=chat_admin)
        assert publishes == []
    assert publishes == [threading.current_thread().name]

    wait_for(lambda: len(smtp_server.messages) == 1, message="the email sent")


def test_relay_goes_on_after_database_errors(
    celery_worker: Any, relay_mode: None, smtp_server: SmtpServer, chat_admin: Any,
    monkeypatch: Any, caplog: Any,
) -> None:  # fmt: skip
    calls = []
    real_hand_off = relay.hand_off

    def failing_twice(using: str, limit: int = relay.RELAY_BATCH) -> tuple[int, bool]:
        calls.append(using)
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_hand_off(using, limit)

    monkeypatch.setattr(relay, "hand_off", failing_twice)
    Chat.objects.create(title="After the outage", admin=chat_admin)

    wait_for(lambda: len(smtp_server.messages) == 1, message="the email sent")
    assert "The outbox relay of database 'default' failed (OperationalError" in caplog.text
    assert "The outbox relay of database 'default' is back." in caplog.text


@pytest.fixture
def relay_threads() -> Iterator[Callable[[], ThreadPoolExecutor]]:
    """Threads of their own (each its own database connection), closed after the test."""
    made: list[ThreadPoolExecutor] = []

    def make() -> ThreadPoolExecutor:
        made.append(ThreadPoolExecutor(max_workers=1))
        return made[-1]

    yield make
    for executor in made:
        executor.submit(connections.close_all).result()
        executor.shutdown()


def test_one_relay_holds_the_lease_until_it_gives_up(
    relay_threads: Callable[[], ThreadPoolExecutor],
) -> None:
    first, second = relay_threads(), relay_threads()
    first_lease = first.submit(lease_for, "default").result()
    second_lease = second.submit(lease_for, "default").result()

    assert first.submit(first_lease.hold).result() is True
    assert second.submit(second_lease.hold).result() is False
    assert first.submit(first_lease.hold).result() is True  # still the holder

    first.submit(first_lease.give_up).result()
    first.submit(lambda: connections["default"].close()).result()  # PostgreSQL: frees the lock
    assert second.submit(second_lease.hold).result() is True
    assert first.submit(first_lease.hold).result() is False


def test_capture_dispatch_collects_ids_in_relay_mode(relay_mode: None, chat_admin: Any) -> None:
    with capture_dispatch() as queued, transaction.atomic():
        chat = Chat.objects.create(title="Captured", admin=chat_admin)
    assert len(queued) == 1
    assert chat.pk is not None


@pytest.mark.parametrize("mode", ["relayed", "", None])
def test_unknown_dispatch_mode_is_an_error(settings: Any, mode: Any) -> None:
    settings.NOTIFY_TASKS_DISPATCH = mode
    [error] = [m for m in run_checks() if m.id == "django_notify_tasks.E031"]
    assert repr(mode) in error.msg


def test_relay_interval_past_the_sweepers_is_a_warning(settings: Any) -> None:
    settings.NOTIFY_TASKS_DISPATCH = "relay"
    settings.NOTIFY_TASKS_RELAY_INTERVAL = 600
    [warning] = [m for m in run_checks() if m.id == "django_notify_tasks.W015"]
    assert "600 >= 300" in warning.msg
    settings.NOTIFY_TASKS_RELAY_INTERVAL = 0.1
    assert not [m for m in run_checks() if m.id == "django_notify_tasks.W015"]


def test_the_relays_poll_reads_only_the_rows_not_handed_over() -> None:
    """Ten times a second: through its own index, not every pending row of a backlog, sorted."""
    sql, params = relay.not_handed_over("default").values_list("pk").query.sql_with_params()
    with connections["default"].cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)  # the suite's database: SQLite
        [step] = [row[-1] for row in cursor.fetchall()]
    assert "USING COVERING INDEX notify_tasks_n_relay_idx" in step
