"""One test per check id of the digest and the status endpoint: E018, E019, W006, W007."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_notify_tasks.checks.reports import check_reports

DIGEST = "notify-tasks-activity-digest"


@pytest.fixture
def quiet(settings: Any, current_celery_app: Any) -> Any:
    """Settings that pass every report check; each test breaks one thing."""
    settings.CELERY_RESULT_BACKEND = None
    current_celery_app(result_backend="redis://127.0.0.1:6379/1")
    assert check_reports() == []
    return settings


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


@pytest.mark.parametrize(
    ("channel", "text"),
    [
        ("", "the channel name is empty"),
        ("caf\u00e9:digest", "is not ASCII"),
        ("s:digest", "invalid namespace 's'"),
        ("x" * 256, "longer than 255"),
        (["staff:digest"], "is not a string"),
    ],
)
def test_e018_bad_digest_channel(quiet: Any, channel: Any, text: str) -> None:
    quiet.NOTIFY_TASKS_DIGEST_CHANNEL = channel
    [error] = check_reports()
    assert error.id == "django_notify_tasks.E018"
    assert text in error.msg
    assert "NOTIFY_TASKS_DIGEST_CHANNEL" in error.msg


@pytest.mark.parametrize("channel", [None, "staff:digest", "digest", "ops-room:daily"])
def test_good_digest_channels_pass(quiet: Any, channel: str | None) -> None:
    quiet.NOTIFY_TASKS_DIGEST_CHANNEL = channel
    assert check_reports() == []


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"hours": "24"}, "hours should be a number"),
        ({"start": "last week"}, "start should be an ISO 8601"),
        ({"days": 7}, "unknown kwargs ['days']"),
        ([7], "is not a dict"),
    ],
)
def test_e019_digest_entry_with_a_bad_period(quiet: Any, kwargs: Any, text: str) -> None:
    quiet.NOTIFY_TASKS_BEAT_SCHEDULE = {DIGEST: {"kwargs": kwargs}}
    [error] = check_reports()
    assert error.id == "django_notify_tasks.E019"
    assert text in error.msg
    assert repr(DIGEST) in error.msg


def test_a_weekly_digest_entry_passes(quiet: Any) -> None:
    quiet.NOTIFY_TASKS_BEAT_SCHEDULE = {DIGEST: {"kwargs": {"hours": 168, "send": False}}}
    assert check_reports() == []


def test_w006_status_url_without_a_result_backend(quiet: Any, current_celery_app: Any) -> None:
    current_celery_app()
    [warning] = check_reports()
    assert warning.id == "django_notify_tasks.W006"
    assert "CELERY_RESULT_BACKEND should be set" in warning.msg
    quiet.CELERY_RESULT_BACKEND = "redis://127.0.0.1:6379/1"  # the app is not loaded yet
    assert check_reports() == []


def test_w006_not_without_the_status_url(quiet: Any, current_celery_app: Any) -> None:
    current_celery_app()
    quiet.ROOT_URLCONF = "django.contrib.auth.urls"  # URLs without the package's
    assert check_reports() == []


def test_w007_rpc_result_backend(quiet: Any, current_celery_app: Any) -> None:
    current_celery_app(result_backend="rpc://")
    [warning] = check_reports()
    assert warning.id == "django_notify_tasks.W007"
    assert "'rpc://'" in warning.msg


def test_manage_py_check_runs_the_report_checks(quiet: Any) -> None:
    quiet.NOTIFY_TASKS_DIGEST_CHANNEL = "bad channel:x"
    with pytest.raises(SystemCheckError, match="E018"):
        call_command("check")
