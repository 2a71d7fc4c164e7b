from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from celery.signals import task_postrun
from django.conf import settings
from django.contrib.auth import get_user_model

from django_notify_tasks.testing import notify_tasks_outbox  # noqa: F401 - a fixture
from tests.settings import HAS_CELERY_BEAT
from tests.support.centrifugo_server import CentrifugoServer, find_binary, generated_config
from tests.support.databases import django_db_modify_db_settings  # noqa: F401 - a fixture
from tests.support.rabbitmq import RabbitMQServer
from tests.support.services import RedisServer, SilentSmtpServer, SmtpServer, smtp_settings
from tests.testapp.models import Chat

# test_sync_beat.py needs django-celery-beat, which cannot be installed with Django 6.1. Every
# env runs test_sync_beat_missing.py: the command's error when the package is not there.
collect_ignore = [] if HAS_CELERY_BEAT else ["test_sync_beat.py"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(settings.REDIS_TEST_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker_server(redis_server: RedisServer) -> Iterator[RedisServer | RabbitMQServer]:
    """The broker (NOTIFY_TASKS_TEST_BROKER): the Redis of the result backend, or RabbitMQ."""
    if settings.TEST_BROKER == "redis":
        yield redis_server
        return
    server = RabbitMQServer(settings.RABBITMQ_TEST_PORT)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def celery_app(broker_server: RedisServer | RabbitMQServer) -> Any:
    from tests.support.celery_app import app

    assert app.conf.broker_url == broker_server.url
    return app


@pytest.fixture(scope="session")
def celery_worker(celery_app: Any, django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """A real Celery worker consuming from the real Redis, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    with ExitStack() as stack:
        with django_db_blocker.unblock():  # Celery's Django fixup touches connections at start
            worker = stack.enter_context(
                start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING")
            )
        yield worker


@pytest.fixture
def task_states() -> Iterator[list[tuple[str, str]]]:
    """(task name, final state) of every task the worker finishes during the test."""
    states: list[tuple[str, str]] = []

    def record(sender: Any = None, state: str = "", **kwargs: Any) -> None:
        states.append((sender.name, state))

    task_postrun.connect(record, weak=False)
    yield states
    task_postrun.disconnect(record)


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    _use_smtp(settings, server.port)
    yield server
    server.stop()


@pytest.fixture
def silent_smtp_server(settings: Any) -> Iterator[SilentSmtpServer]:
    server = SilentSmtpServer()
    server.start()
    _use_smtp(settings, server.port)
    yield server
    server.stop()


def _use_smtp(settings: Any, port: int) -> None:
    for name, value in smtp_settings(port).items():
        setattr(settings, name, value)
    settings.NOTIFY_TASKS_EMAIL_TIMEOUT = 1
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 0.05


@pytest.fixture
def chat_admin(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@chat.example", "pw")


@pytest.fixture
def member(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", "bob@chat.example", "pw")


@pytest.fixture
def chat(chat_admin: Any) -> Chat:
    return Chat.objects.create(title="Gardening", admin=chat_admin)


def make_user(username: str) -> Any:
    return get_user_model().objects.create_user(username, f"{username}@chat.example", "pw")


CENTRIFUGO_KEY = "test-api-key"


@pytest.fixture
def centrifugo(settings: Any) -> Iterator[Any]:
    """The strict Centrifugo double on a free port, and settings pointing at it."""
    from tests.support.centrifugo import CentrifugoDouble

    double = CentrifugoDouble(CENTRIFUGO_KEY)
    double.start()
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = double.api_url
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = CENTRIFUGO_KEY
    settings.NOTIFY_TASKS_CENTRIFUGO_TIMEOUT = 0.5
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 0.05
    yield double
    double.stop()
    assert double.errors == []


@pytest.fixture(scope="session")
def centrifugo_binary() -> Path:
    """The real Centrifugo binary, the one place the real-server tests may be skipped.

    Skipped (with the reason in the summary) only where there is neither a binary nor ``go``
    to build one; ``make centrifugo`` builds it, and this fixture does too where ``go`` is,
    so ``.ci/run`` on the project's machines never skips.
    """
    binary, reason = find_binary()
    if binary is None:
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def centrifugo_server(centrifugo_binary: Path) -> Iterator[CentrifugoServer]:
    """A real Centrifugo, started from the config the package's command generates."""
    server = CentrifugoServer(centrifugo_binary, generated_config())
    server.start()
    yield server
    server.stop()


def email_rule(*to: Any, subject: str = "Hi", body: str = ".", **extra: Any) -> dict[str, Any]:
    """NOTIFY_TASKS_RULES with one rule: a created Membership emails ``to``."""
    email = {"to": list(to), "subject": subject, "body": body}
    rule = {"model": "testapp.Membership", "on": ["created"], "email": email, **extra}
    return {"member-joined": rule}


@pytest.fixture
def current_celery_app() -> Iterator[Callable[..., Any]]:
    """``make(**conf)`` makes a fresh Celery app the current one, until the test ends.

    The package reads task states through ``celery.current_app``, as a host project's app
    is current once its ``celery.py`` is imported; this swaps in one with another backend.
    """
    from celery import Celery, current_app

    previous = current_app._get_current_object()

    def make(**conf: Any) -> Any:
        app = Celery("current-for-test", set_as_current=False)
        app.conf.update(conf)
        app.set_current()
        return app

    yield make
    previous.set_current()


@pytest.fixture
def staff_client(client: Any) -> Any:
    """The test client, logged in as a staff user."""
    boss = make_user("boss")
    boss.is_staff = True
    boss.save()
    client.force_login(boss)
    return client


@pytest.fixture
def enqueued(monkeypatch: Any) -> list[list[int]]:
    """The notification ids handed to the broker after commit, call by call, instead of a
    broker."""
    calls: list[list[int]] = []
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications",
        lambda ids, using="default": calls.append(list(ids)),
    )
    return calls


@pytest.fixture
def sent_tasks(monkeypatch: Any) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """What would have gone to the broker: task name, arguments, publish options."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def fake_apply_async(self: Any, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        calls.append((self.name, tuple(args), options))

    monkeypatch.setattr("celery.app.task.Task.apply_async", fake_apply_async)
    return calls
