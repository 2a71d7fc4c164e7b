"""A task's state, progress, result or error, read from the Celery result backend as JSON."""

from __future__ import annotations

import json
from typing import Any

from celery import current_app, states
from celery.backends.base import DisabledBackend
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError

PROGRESS = "PROGRESS"
SALT = "django_notify_tasks.task-status"  # a signature made for this and nothing else


def status_url(task_id: str) -> str:
    """The status endpoint's URL for ``task_id``: the id is signed, so the endpoint answers
    only for tasks the site chose to show, not for any id a staff user tries."""
    signed = signing.Signer(salt=SALT).sign(task_id)
    return reverse("django_notify_tasks:task-status", kwargs={"task_id": signed})


def unsign(signed: str) -> str | None:
    """The task id in a URL ``status_url`` made, or None for anything else."""
    try:
        return signing.Signer(salt=SALT).unsign(signed)
    except signing.BadSignature:
        return None


class NoResultBackend(NotifyTasksError):
    """The Celery app has no result backend, so no task state can be read."""


def result_backend_url() -> str | None:
    """The result backend the current Celery app or the Django settings name, if any."""
    configured = current_app.conf.result_backend or app_settings.celery_result_backend
    return str(configured) if configured else None


def task_status(task_id: str) -> dict[str, Any]:
    """``{"id", "state", "progress", "result", "error"}`` from one read of the backend.

    ``progress`` is ``{"current", "total", "percent"}`` in state PROGRESS, ``result`` the
    return value in SUCCESS, ``error`` the reason in FAILURE, RETRY and REVOKED; otherwise
    None. Celery cannot tell an unknown id from a task not started yet: both are PENDING.
    """
    backend = current_app.backend
    if isinstance(backend, DisabledBackend):
        raise NoResultBackend(
            "Celery has no result backend (set CELERY_RESULT_BACKEND), so task states "
            "cannot be read"
        )
    meta = backend.get_task_meta(task_id)
    state, value = str(meta["status"]), meta.get("result")
    return {
        "id": task_id,
        "state": state,
        "progress": _progress(value) if state == PROGRESS else None,
        "result": _jsonable(value) if state == states.SUCCESS else None,
        "error": _error(value) if state in states.EXCEPTION_STATES else None,
    }


def _progress(meta: Any) -> dict[str, Any] | None:
    if not isinstance(meta, dict) or not {"current", "total"} <= meta.keys():
        return None  # another task's PROGRESS with its own meta
    current, total = meta["current"], meta["total"]
    percent = meta.get("percent", round(100 * current / total) if total else 0)
    return {"current": current, "total": total, "percent": percent}


def _error(exception: Any) -> str:
    return str(exception) or type(exception).__name__


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
    except (TypeError, ValueError):  # a result some other task pickled
        return repr(value)
    return value
