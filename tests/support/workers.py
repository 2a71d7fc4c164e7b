"""A real ``celery worker`` subprocess (prefork pool) for fault tests, and what they do to it.

The worker gets a minimal, explicit environment rather than the one pytest runs in: the
settings module, the broker port, the name of the *test* database (pytest-django renames the
database, so the worker must be told), and whatever the test adds. Every port and path in
tests/settings.py is chosen per process unless it comes from the environment, so a worker
started with ``os.environ`` would talk to another Redis and another database and receive
nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import amqp.exceptions
import kombu.exceptions
import redis
from django.conf import settings
from django.db import connection

from tests.support.services import wait_for

# The checkout these tests come from (tests/support/workers.py -> the repository): the
# worker's PYTHONPATH and working directory, so that it runs this checkout's package and
# tests even where the virtualenv's editable install points at another (a git worktree).
ROOT = Path(__file__).resolve().parents[2]
# Variables a Python process needs to start and find its libraries; nothing from pytest.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PG_BINDIR")
# What a client of a restarted or hung broker (Redis, RabbitMQ) sees until it reconnects.
BROKER_ERRORS = (
    OSError, redis.RedisError, amqp.exceptions.AMQPError, kombu.exceptions.OperationalError
)  # fmt: skip
PACKAGE_TASKS = {
    "django_notify_tasks.process_notification",
    "django_notify_tasks.deliver_email",
    "django_notify_tasks.publish_realtime",
    "django_notify_tasks.redispatch_stale",
}


def broker_environment() -> dict[str, str]:
    """What a subprocess needs to use the test session's broker."""
    env = {"NOTIFY_TASKS_TEST_BROKER": settings.TEST_BROKER}
    if settings.TEST_BROKER == "rabbitmq":
        env["NOTIFY_TASKS_TEST_RABBITMQ_PORT"] = str(settings.RABBITMQ_TEST_PORT)
    return env


def worker_environment(settings_module: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a worker that uses the test session's broker and database."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        NOTIFY_TASKS_TEST_DB=settings.TEST_DB,
        NOTIFY_TASKS_TEST_DB_NAME=str(connection.settings_dict["NAME"]),
        NOTIFY_TASKS_TEST_REDIS_PORT=str(settings.REDIS_TEST_PORT),
    )
    env.update(broker_environment())
    if settings.TEST_DB == "postgresql":
        env["NOTIFY_TASKS_TEST_PG_PORT"] = str(settings.PG_TEST_PORT)
    elif settings.TEST_DB == "mariadb":
        env["NOTIFY_TASKS_TEST_MARIADB_PORT"] = str(settings.MARIADB_TEST_PORT)
    else:  # else the worker's settings would make a directory of their own
        env["NOTIFY_TASKS_TEST_DB_DIR"] = str(Path(env["NOTIFY_TASKS_TEST_DB_NAME"]).parent)
    env.update(extra)
    return env


class CeleryWorker:
    """``celery -A tests.support.celery_app worker --pool prefork`` on a queue of its own."""

    def __init__(
        self,
        app: Any,
        queue: str,
        log_path: Path,
        *,
        settings_module: str = "tests.settings",
        env: Mapping[str, str] | None = None,
        concurrency: int = 2,
    ) -> None:
        self.app = app
        self.queue = queue
        self.hostname = f"{queue}-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        self.concurrency = concurrency
        self.env = worker_environment(settings_module, env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "tests.support.celery_app", "worker",
            "--pool", "prefork", "--concurrency", str(self.concurrency),
            "--queues", self.queue, "--hostname", self.hostname,
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker is not running"
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        """Start the worker and return once it answers a ping and knows the package's tasks."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
        self.wait_until(self._answers, timeout, f"worker {self.hostname} to answer a ping")
        registered = self._inspect().registered() or {}
        missing = PACKAGE_TASKS - set(registered.get(self.hostname, []))
        assert not missing, f"the worker does not know {sorted(missing)}\n{self.log()}"

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """``wait_for``, with the end of the worker's log in the failure message."""
        try:
            return wait_for(predicate, timeout=timeout, message=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker log ---\n{self.log()}") from None

    def _answers(self) -> bool:
        if self.exited():
            raise AssertionError(f"the worker exited\n{self.log()}")
        return self.responsive()

    def responsive(self) -> bool:
        """The worker answers a ping over the broker (False while the broker is away)."""
        try:
            return bool(self.app.control.ping(destination=[self.hostname], timeout=0.5))
        except BROKER_ERRORS:
            return False

    def _inspect(self) -> Any:
        return self.app.control.inspect(destination=[self.hostname], timeout=2)

    def pool_pids(self) -> list[int]:
        """The pool processes: the children of the worker's main process (from /proc)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def active(self) -> list[dict[str, Any]]:
        """The tasks the pool processes are running now, each with its ``worker_pid``."""
        found = self._inspect().active() or {}
        return list(found.get(self.hostname, []))

    def idle(self) -> bool:
        """No task running, reserved or waiting for its countdown, and the queue empty."""
        try:
            return self._idle()
        except BROKER_ERRORS:
            return False

    def _idle(self) -> bool:
        inspect = self._inspect()
        answers = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        if any(answer is None or self.hostname not in answer for answer in answers):
            return False  # no answer is not the same as nothing to do
        if any(answer[self.hostname] for answer in answers):
            return False
        with self.app.connection_for_write() as conn:
            return queue_length(conn, self.queue) == 0

    def exited(self) -> bool:
        """The main process has ended (killed, or an unrecoverable error)."""
        return self.process is None or self.process.poll() is not None

    def restart_if_exited(self) -> bool:
        """What a supervisor (systemd ``Restart=always``) does; True if it had to."""
        if not self.exited():
            return False
        self.stop()
        self.start()
        return True

    def kill_pool_process(self, pid: int) -> None:
        """SIGKILL one pool process, as the OOM killer would; the main process stays."""
        assert pid in self.pool_pids(), f"{pid} is not a pool process of {self.pid}"
        os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the main process and the pool at once, as a lost machine would."""
        assert self.process is not None, "the worker is not running"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown of the whole process group; SIGKILL if it does not end in time."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # pool processes left behind, if any
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def log(self, lines: int = 60) -> str:
        """The end of the worker's log, for assertion messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def queue_length(conn: Any, queue: str) -> int:
    """Messages waiting in ``queue``: a Redis list, or an AMQP queue (declared passively)."""
    if conn.transport.driver_type == "redis":
        return int(conn.default_channel.client.llen(queue))
    return int(conn.default_channel.queue_declare(queue, passive=True).message_count)


def process_gone(pid: int) -> bool:
    """``pid`` no longer runs: no such process, or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # ESRCH: it ended between open and read
        return True
    return state == "Z"
