"""A broker that accepts connections and never answers cannot hang the host's request: the
package's own publish has bounded connect and socket timeouts and a bounded retry policy,
and returns False (the row waits for the sweeper)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_notify_tasks import dispatch


class SilentBroker:
    """Accepts TCP connections on loopback, reads nothing, answers nothing."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_broker() -> Iterator[SilentBroker]:
    broker = SilentBroker()
    yield broker
    broker.close()


def publish_in_thread(app: Any, publish: Callable[[], bool]) -> tuple[threading.Thread, list[Any]]:
    """``publish()`` in a thread of its own, where ``app`` is current (it is per thread)."""
    result: list[Any] = []

    def run() -> None:
        app.set_current()
        result.append(publish())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_a_silent_broker_cannot_hang_the_request(
    current_celery_app: Any, silent_broker: SilentBroker, settings: Any, scheme: str
) -> None:
    settings.NOTIFY_TASKS_BROKER_TIMEOUT = 0.5
    app = current_celery_app(broker_url=f"{scheme}://127.0.0.1:{silent_broker.port}//")
    import django_notify_tasks.tasks  # noqa: F401 - registers the tasks on the new app

    started = time.monotonic()
    thread, result = publish_in_thread(
        app, lambda: dispatch.enqueue(dispatch.PROCESS_NOTIFICATION, (1,))
    )
    thread.join(timeout=30)  # unbounded before: 45 s and more, until the test gave up
    assert not thread.is_alive(), "the publish is still waiting for the silent broker"
    assert result == [False]
    assert silent_broker.accepted  # it did reach the broker and was left waiting there
    assert time.monotonic() - started < 30


def test_a_redis_broker_without_socket_timeouts_is_warning_w010(settings: Any) -> None:
    from django_notify_tasks.checks.broker import check_broker

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5}
    [warning] = check_broker()
    assert warning.id == "django_notify_tasks.W011"
    assert "should set socket_connect_timeout" in warning.msg
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 5}
    assert check_broker() == []
    settings.CELERY_BROKER_URL = "amqp://127.0.0.1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert check_broker() == []


def test_the_package_bounds_only_what_the_host_left_unbounded(current_celery_app: Any) -> None:
    app = current_celery_app(broker_transport_options={"socket_timeout": 9, "read_timeout": None})
    assert dispatch.bounded_transport_options(app, 2) == {
        "socket_timeout": 9,
        "socket_connect_timeout": 2,
        "read_timeout": 2,
        "write_timeout": 2,
    }
