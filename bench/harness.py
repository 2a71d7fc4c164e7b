"""What the email benchmarks share: a database, Redis, the SMTP counter and a real worker.

The services are the test suite's own (tests/support/services.py, tests/support/postgres.py,
tests/support/workers.py). ``open_bench(db)`` must run before Django is set up: the settings
(bench/settings.py over tests/settings.py) read the database, ports and paths from the
environment it prepares, and the worker subprocess gets the same environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.smtp_counter import SmtpCounter  # noqa: E402
from tests.support.services import free_port  # noqa: E402

MB = 1024


@dataclass
class Bench:
    """The services of one benchmark run, on one database."""

    db: str
    smtp: SmtpCounter
    app: Any
    tmp: Path
    worker_env: dict[str, str]

    def worker(self, name: str) -> Any:
        """A started ``celery worker --pool prefork -c 2`` (``BENCH_CONCURRENCY``) on the
        default queue."""
        from tests.support.workers import CeleryWorker

        worker = CeleryWorker(
            self.app,
            "celery",
            self.tmp / f"worker-{name}.log",
            settings_module="bench.settings",
            env=self.worker_env,
            concurrency=int(self.worker_env.get("BENCH_CONCURRENCY") or 2),
        )
        worker.start()
        return worker

    def admins(self, count: int) -> list[Any]:
        """``count`` users, one recipient per notification."""
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        have = list(user_model.objects.order_by("pk")[:count])
        user_model.objects.bulk_create(
            user_model(username=f"admin{n}", email=f"admin{n}@bench.example", password="!")
            for n in range(len(have), count)
        )
        return list(user_model.objects.order_by("pk")[:count])

    def wait_for_messages(self, count: int, timeout: float, worker: Any = None) -> float:
        """Poll the SMTP server until it has ``count`` messages; the time of the last one."""
        from tests.support.services import wait_for

        def arrived() -> bool:
            return self.smtp.stats()[0] >= count

        what = f"{count} messages at the SMTP server"
        if worker is None:
            wait_for(arrived, timeout=timeout, message=what)
        else:
            worker.wait_until(arrived, timeout, what)
        return self.smtp.stats()[2]


@contextlib.contextmanager
def open_bench(db: str, **worker_env: str) -> Iterator[Bench]:
    """Start the SMTP counter, the database (a throwaway PostgreSQL cluster) and Redis."""
    tmp = Path(tempfile.mkdtemp(prefix=f"notify-tasks-bench-{db}-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)  # the database and worker logs
        smtp = SmtpCounter()
        stack.callback(smtp.stop)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            NOTIFY_TASKS_TEST_DB=db,
            NOTIFY_TASKS_TEST_REDIS_PORT=str(free_port()),
            BENCH_SMTP_PORT=str(smtp.port),
            BENCH_POST_OFFICE_LOCK=str(tmp / f"post-office-{uuid.uuid4().hex[:8]}"),
            **worker_env,
        )
        if db == "postgresql":
            stack.enter_context(postgres_cluster())
        else:
            os.environ["NOTIFY_TASKS_TEST_DB_DIR"] = str(tmp)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from tests.support.services import RedisServer

        call_command("migrate", verbosity=0)
        redis = RedisServer(settings.REDIS_TEST_PORT)
        redis.start()
        stack.callback(redis.stop)
        from tests.support.celery_app import app

        names = ("BENCH_SMTP_PORT", "BENCH_POST_OFFICE_LOCK", *worker_env)
        yield Bench(db, smtp, app, tmp, {name: os.environ[name] for name in names})


@contextlib.contextmanager
def postgres_cluster() -> Iterator[None]:
    """tests/support/postgres.py's cluster on a free port, with the database the settings name."""
    import psycopg

    from tests.support.postgres import PostgresCluster

    port = free_port()
    os.environ["NOTIFY_TASKS_TEST_PG_PORT"] = str(port)
    cluster = PostgresCluster(port, "notify_tasks")
    cluster.start()
    try:
        dsn = f"host=127.0.0.1 port={port} user=notify_tasks dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE notify_tasks")
        yield
    finally:
        cluster.stop()


def worker_memory(worker: Any) -> dict[int, tuple[float, float]]:
    """pid -> (VmHWM, VmRSS) in MB, for the worker's main process and each pool process."""
    found = {}
    for pid in [worker.pid, *worker.pool_pids()]:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        found[pid] = (kilobytes(fields["VmHWM"]) / MB, kilobytes(fields["VmRSS"]) / MB)
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_cpu(worker: Any) -> tuple[float, float]:
    """(main process, all pool processes): CPU seconds used so far."""
    return cpu_seconds(worker.pid), sum(cpu_seconds(pid) for pid in worker.pool_pids())


def kilobytes(value: str) -> float:
    number, unit = value.split()
    assert unit == "kB", value
    return float(number)


def timed(action: Callable[[], Any]) -> tuple[float, float]:
    """(monotonic start, seconds) of ``action()``."""
    started = time.monotonic()
    action()
    return started, time.monotonic() - started
