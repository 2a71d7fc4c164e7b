"""A real `celery beat` process with the bundled schedule, and the real worker running it."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.support.services import wait_for
from tests.support.workers import broker_environment

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def beat_process(tmp_path: Path, broker_server: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`celery beat` for tests/support/celery_app.py, user_count_report retimed to every second."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NOTIFY_TASKS_TEST_REDIS_PORT": str(django_settings.REDIS_TEST_PORT),
        **broker_environment(),
        "NOTIFY_TASKS_TEST_BEAT_SECONDS": "1",
        "NOTIFY_TASKS_TEST_DB_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "celery", "-A", "tests.support.celery_app", "beat"]
    command += ["--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"]
    log = (tmp_path / "beat.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    log.close()


def test_beat_runs_the_user_count_report_and_the_worker_writes_it(
    settings: Any, tmp_path: Path, celery_worker: Any, beat_process: Any, django_user_model: Any
) -> None:
    reports_dir = tmp_path / "reports"
    reports_dir.mkdir()
    settings.NOTIFY_TASKS_REPORT_DIR = str(reports_dir)
    django_user_model.objects.create_user("ann", "ann@chat.example", "pw")
    report = reports_dir / "user_counts.csv"

    def two_rows() -> list[dict[str, str]]:
        if not report.exists():
            return []
        with report.open(newline="") as handle:
            found = list(csv.DictReader(handle))
        return found if len(found) >= 2 else []

    found = wait_for(two_rows, timeout=40, message="two beat-driven report rows")
    assert beat_process.poll() is None, (tmp_path / "beat.log").read_text()
    assert [row["total_users"] for row in found[:2]] == ["1", "1"]
