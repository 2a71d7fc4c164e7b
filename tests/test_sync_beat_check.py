"""W009: the bundled entries in CELERY_BEAT_SCHEDULE while beat runs the database scheduler."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

from django_notify_tasks import beat as beat_module
from django_notify_tasks.beat import beat_schedule
from django_notify_tasks.checks.beat import check_database_scheduler

DATABASE = "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.parametrize("scheduler", [DATABASE, "django"])
def test_w009_bundled_entries_in_settings_with_the_database_scheduler(
    settings: Any, scheduler: str
) -> None:
    settings.CELERY_BEAT_SCHEDULER = scheduler
    settings.CELERY_BEAT_SCHEDULE = {**beat_schedule({}), "host": {"task": "h", "schedule": 9}}
    [warning] = check_database_scheduler()
    assert warning.id == "django_notify_tasks.W009"
    assert "'notify-tasks-purge-old'" in warning.msg
    assert "notify_tasks_sync_beat" in (warning.hint or "")
    assert warning.id in [message.id for message in run_checks()]  # registered


def test_no_w009_with_the_default_scheduler_or_without_the_entries(
    settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(beat_module, "_installed", False)
    settings.CELERY_BEAT_SCHEDULE = beat_schedule({})
    assert check_database_scheduler() == []
    settings.CELERY_BEAT_SCHEDULER = DATABASE
    settings.CELERY_BEAT_SCHEDULE = {"host": {"task": "h", "schedule": 9}}
    assert check_database_scheduler() == []


def test_w009_when_install_app_ran_with_the_database_scheduler(
    settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(beat_module, "_installed", True)  # as install(app) in celery.py
    settings.CELERY_BEAT_SCHEDULER = DATABASE
    settings.CELERY_BEAT_SCHEDULE = {}
    [warning] = check_database_scheduler()
    assert "'notify-tasks-purge-old (install(app))'" in warning.msg
