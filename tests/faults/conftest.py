"""Fixtures of the fault suite: one real prefork worker subprocess, SMTP and Centrifugo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from tests.faults import config
from tests.faults.harness import FaultSmtpServer
from tests.support.centrifugo import DEFAULT_NAMESPACES, CentrifugoDouble
from tests.support.rabbitmq import RabbitMQServer
from tests.support.services import RedisServer
from tests.support.workers import CeleryWorker

# Files about one database or one broker, collected only in its pass, never left skipped:
# PostgreSQL's one round trip on the request path, SKIP LOCKED claims (PostgreSQL and
# MariaDB), the relay's connection cut (PostgreSQL), and what each broker does with the
# messages of a worker killed outright.
ONLY_ON = {
    "test_outbox_postgresql.py": settings.TEST_DB == "postgresql",
    "test_claims_skip_locked.py": settings.TEST_DB in ("postgresql", "mariadb"),
    "test_relay_postgresql.py": settings.TEST_DB == "postgresql",
    "test_whole_worker_killed_redis.py": settings.TEST_BROKER == "redis",
    "test_whole_worker_killed_rabbitmq.py": settings.TEST_BROKER == "rabbitmq",
}
collect_ignore = [name for name, collected in ONLY_ON.items() if not collected]


@pytest.fixture(scope="session")
def fault_smtp() -> Iterator[FaultSmtpServer]:
    server = FaultSmtpServer(config.SMTP_SIZE_LIMIT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_centrifugo() -> Iterator[CentrifugoDouble]:
    # One double for the session: notification ids, hence idempotency keys, never repeat
    # (Django's SQLite tables are AUTOINCREMENT, and PostgreSQL sequences are not reset).
    double = CentrifugoDouble(config.CENTRIFUGO_KEY)
    double.start()
    yield double
    double.stop()
    assert double.errors == []


@pytest.fixture(scope="session")
def fault_worker(
    celery_app: Any,
    django_db_setup: None,
    fault_smtp: FaultSmtpServer,
    fault_centrifugo: CentrifugoDouble,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryWorker]:
    """``celery worker --pool prefork -c 2`` on the fault queue, against the test database."""
    worker = CeleryWorker(
        celery_app,
        config.QUEUE,
        tmp_path_factory.mktemp("fault-worker") / "worker.log",
        settings_module="tests.faults.worker_settings",
        env={
            "FAULTS_SMTP_PORT": str(fault_smtp.port),
            "FAULTS_CENTRIFUGO_URL": fault_centrifugo.api_url,
        },
    )
    worker.start()
    yield worker
    worker.stop()


@dataclass
class Faults:
    """What a fault test works with."""

    worker: CeleryWorker
    smtp: FaultSmtpServer
    centrifugo: CentrifugoDouble
    broker: RedisServer | RabbitMQServer
    settings: Any


@pytest.fixture
def faults(
    transactional_db: None,
    settings: Any,
    broker_server: RedisServer | RabbitMQServer,
    fault_worker: CeleryWorker,
    fault_smtp: FaultSmtpServer,
    fault_centrifugo: CentrifugoDouble,
) -> Iterator[Faults]:
    """Fresh SMTP and Centrifugo state; the worker's settings here too; an idle worker after.

    It depends on ``transactional_db``, so its teardown (waiting for the worker to finish)
    runs before the tables are emptied for the next test.
    """
    for name, value in config.fault_settings(fault_smtp.port, fault_centrifugo.api_url).items():
        setattr(settings, name, value)
    fault_smtp.handler.reset()
    fault_centrifugo.clear_records()
    fault_centrifugo.clear_faults()
    fault_centrifugo.set_api_key(config.CENTRIFUGO_KEY)
    fault_centrifugo.namespaces = DEFAULT_NAMESPACES
    yield Faults(fault_worker, fault_smtp, fault_centrifugo, broker_server, settings)
    fault_smtp.handler.release.set()
    if not broker_server.answers():
        broker_server.start()
    fault_worker.restart_if_exited()  # a broker outage may have ended it (kombu 5.7.0)
    fault_worker.wait_until(fault_worker.idle, 30, "an idle worker")


@pytest.fixture
def relay_workers(
    faults: Faults, celery_app: Any, tmp_path: Any
) -> Iterator[Callable[[], CeleryWorker]]:
    """``start()`` a prefork worker in relay mode on the fault queue; all stopped after."""
    faults.settings.NOTIFY_TASKS_DISPATCH = "relay"
    started: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = CeleryWorker(
            celery_app,
            config.QUEUE,
            tmp_path / f"relay-worker-{len(started)}.log",
            settings_module="tests.faults.worker_settings",
            env={**faults.worker.env, "NOTIFY_TASKS_TEST_DISPATCH": "relay"},
        )
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()
