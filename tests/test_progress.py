"""The task status endpoint: who may call it, and each state as JSON, from a real backend."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.core import signing
from django.urls import reverse

from django_notify_tasks import reports, tasks
from django_notify_tasks.task_status import status_url
from tests.conftest import make_user
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_id() -> str:
    """A new id per test: the in-memory backend's store is shared by the whole process."""
    return str(uuid.uuid4())


def url(task_id: str) -> str:
    return status_url(task_id)


@pytest.fixture
def memory_backend(current_celery_app: Any) -> Any:
    """A real Celery result backend (the in-memory cache one) on the current app."""
    return current_celery_app(result_backend="cache+memory://").backend


def test_the_url_contract() -> None:
    assert url("5b0c34b6-7a1f-4d4c-9a0e-1f1f0c6f5a11").startswith(
        "/notifications/tasks/5b0c34b6-7a1f-4d4c-9a0e-1f1f0c6f5a11:"
    )


@pytest.mark.parametrize("forged", ["unsigned", "tampered", "other salt"])
def test_only_ids_the_site_signed_can_be_read(
    staff_client: Any, memory_backend: Any, task_id: str, forged: str
) -> None:
    memory_backend.store_result(task_id, {"secret": 1}, "SUCCESS")
    assert staff_client.get(url(task_id)).json()["result"] == {"secret": 1}
    signed = {
        "unsigned": task_id,
        "tampered": url(task_id).split("/")[-2][:-1] + "x",
        "other salt": signing.Signer().sign(task_id),
    }[forged]
    path = reverse("django_notify_tasks:task-status", kwargs={"task_id": signed})
    response = staff_client.get(path)
    assert response.status_code == 404 and "secret" not in response.content.decode()


def test_anonymous_gets_401_json(client: Any, task_id: str) -> None:
    response = client.get(url(task_id))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_users_who_are_not_staff_get_403_json(client: Any, task_id: str) -> None:
    client.force_login(make_user("bob"))
    response = client.get(url(task_id))
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff may see task states."}


def test_without_a_result_backend_the_answer_is_503_json(
    staff_client: Any, current_celery_app: Any, task_id: str
) -> None:
    current_celery_app()  # no result_backend
    response = staff_client.get(url(task_id))
    assert response.status_code == 503
    assert "set CELERY_RESULT_BACKEND" in response.json()["detail"]


def test_a_backend_that_is_down_is_503_json(
    staff_client: Any, current_celery_app: Any, task_id: str
) -> None:
    current_celery_app(
        result_backend=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        redis_socket_connect_timeout=0.5,
        result_backend_always_retry=False,
    )
    response = staff_client.get(url(task_id))
    assert response.status_code == 503
    assert response.json()["detail"].startswith("The result backend could not be read: ")


def test_post_is_405(staff_client: Any, memory_backend: Any, task_id: str) -> None:
    assert staff_client.post(url(task_id)).status_code == 405


def test_an_unknown_or_waiting_task_is_pending(
    staff_client: Any, memory_backend: Any, task_id: str
) -> None:
    response = staff_client.get(url(task_id))
    assert response.status_code == 200
    assert response.json() == {
        "id": task_id,
        "state": "PENDING",
        "progress": None,
        "result": None,
        "error": None,
    }
    assert "no-cache" in response["Cache-Control"]


def test_progress(staff_client: Any, memory_backend: Any, task_id: str) -> None:
    memory_backend.store_result(task_id, {"current": 2, "total": 7, "percent": 29}, "PROGRESS")
    body = staff_client.get(url(task_id)).json()
    assert body["state"] == "PROGRESS"
    assert body["progress"] == {"current": 2, "total": 7, "percent": 29}
    assert (body["result"], body["error"]) == (None, None)


def test_another_tasks_progress_meta_shows_no_progress(
    staff_client: Any, memory_backend: Any, task_id: str
) -> None:
    memory_backend.store_result(task_id, {"step": "exporting"}, "PROGRESS")
    assert staff_client.get(url(task_id)).json()["progress"] is None


def test_success_carries_the_result(staff_client: Any, memory_backend: Any, task_id: str) -> None:
    memory_backend.store_result(task_id, {"totals": {"sent": 3}, "file": "/r/d.json"}, "SUCCESS")
    body = staff_client.get(url(task_id)).json()
    assert body["state"] == "SUCCESS"
    assert body["result"] == {"totals": {"sent": 3}, "file": "/r/d.json"}
    assert (body["progress"], body["error"]) == (None, None)


def test_failure_carries_the_reason(staff_client: Any, memory_backend: Any, task_id: str) -> None:
    error = reports.ReportDirError("NOTIFY_TASKS_REPORT_DIR is not set: reports have nowhere")
    memory_backend.mark_as_failure(task_id, error)
    body = staff_client.get(url(task_id)).json()
    assert body["state"] == "FAILURE"
    assert body["error"] == "NOTIFY_TASKS_REPORT_DIR is not set: reports have nowhere"
    assert (body["progress"], body["result"]) == (None, None)


def test_retry_and_revoked_carry_their_reason(
    staff_client: Any, memory_backend: Any, task_id: str
) -> None:
    memory_backend.mark_as_retry(task_id, ConnectionError("SMTP server went away"))
    body = staff_client.get(url(task_id)).json()
    assert (body["state"], body["error"]) == ("RETRY", "SMTP server went away")
    memory_backend.mark_as_revoked(task_id, reason="terminated")
    body = staff_client.get(url(task_id)).json()
    assert (body["state"], body["error"]) == ("REVOKED", "terminated")


def test_progress_is_stored_only_for_a_task_run(monkeypatch: Any, task_id: str) -> None:
    stored: list[dict[str, Any]] = []
    task = tasks.activity_digest
    monkeypatch.setattr(task, "update_state", lambda **kwargs: stored.append(kwargs))
    reports.store_progress(task, 1, 3)  # called as a function: no task id, nothing stored
    task.push_request(id=task_id)
    try:
        reports.store_progress(task, 1, 3)
    finally:
        task.pop_request()
    assert stored == [{"state": "PROGRESS", "meta": {"current": 1, "total": 3, "percent": 33}}]


def test_a_report_never_fails_for_its_progress(
    monkeypatch: Any, caplog: Any, task_id: str
) -> None:
    def backend_down(**kwargs: Any) -> None:
        raise ConnectionError("result backend down")

    task = tasks.activity_digest
    monkeypatch.setattr(task, "update_state", backend_down)
    task.push_request(id=task_id)
    try:
        with caplog.at_level(logging.WARNING, logger="django_notify_tasks.reports.live"):
            reports.store_progress(task, 1, 3)
    finally:
        task.pop_request()
    assert f"Could not store the progress of {task_id}" in caplog.text
