"""Progress of a real digest run, seen through the status endpoint: real worker, real Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from django_notify_tasks import reports, tasks
from django_notify_tasks.task_status import status_url
from tests.support.reports_data import record_delivery
from tests.support.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STEPS = 7  # four queries, the file, the email, the staff channel


@pytest.fixture
def gated_progress(monkeypatch: Any) -> Iterator[list[threading.Event]]:
    """The worker stops after storing each progress step until the test releases it."""
    release = [threading.Event() for _ in range(STEPS + 1)]
    store = reports.store_progress

    def store_then_wait(task: Any, current: int, total: int) -> None:
        store(task, current, total)
        release[current].wait(timeout=30)

    monkeypatch.setattr("django_notify_tasks.reports.live.store_progress", store_then_wait)
    yield release
    for event in release:  # never leave the worker waiting, even when the test failed
        event.set()


def status(client: Any, task_id: str) -> dict[str, Any]:
    response = client.get(status_url(task_id))
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def at_step(client: Any, task_id: str, step: int) -> dict[str, Any] | None:
    found = status(client, task_id)
    progress = found["progress"]
    return found if progress and progress["current"] == step else None


def test_progress_states_and_result_through_the_status_endpoint(
    settings: Any,
    tmp_path: Path,
    celery_worker: Any,
    staff_client: Any,
    gated_progress: list[threading.Event],
) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    settings.ADMINS = ["ops@chat.example"]
    record_delivery("member-joined", delay=3)
    record_delivery("member-joined", "email", "failed", error="550 no such user")

    task_id = tasks.activity_digest.delay(hours=48).id

    seen = []
    for step in range(1, STEPS + 1):
        body = wait_for(partial(at_step, staff_client, task_id, step), message=f"step {step}")
        seen.append((body["state"], body["progress"], body["result"], body["error"]))
        gated_progress[step].set()
    final = wait_for(
        lambda: (found := status(staff_client, task_id))["state"] == "SUCCESS" and found,
        message="the digest to finish",
    )

    assert seen == [
        ("PROGRESS", {"current": n, "total": STEPS, "percent": round(100 * n / STEPS)}, None, None)
        for n in range(1, STEPS + 1)
    ]
    assert final["id"] == task_id
    assert final["progress"] is None
    assert final["error"] is None
    assert final["result"]["totals"] == {
        "sent": 1,
        "failed": 1,
        "pending": 0,
        "cancelled": 0,
        "skipped": 0,
        "slowest_seconds": 3.0,
    }
    assert Path(final["result"]["file"]).parent == tmp_path
    assert final["result"]["emailed"] == 1
    assert len(mail.outbox) == 1


def test_a_digest_without_report_dir_fails_with_the_reason(
    settings: Any, celery_worker: Any, staff_client: Any
) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = None

    task_id = tasks.activity_digest.delay().id

    final = wait_for(
        lambda: (found := status(staff_client, task_id))["state"] == "FAILURE" and found,
        message="the digest to fail",
    )
    assert final["error"].startswith("NOTIFY_TASKS_REPORT_DIR is not set")
    assert (final["progress"], final["result"]) == (None, None)
