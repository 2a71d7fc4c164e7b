"""The bundled beat schedule, its overrides, and install(app) on a real Celery app."""

from __future__ import annotations

import os
from typing import Any

import pytest
from celery import Celery, beat
from celery.schedules import crontab

from django_notify_tasks import beat as beat_module
from django_notify_tasks.beat import BUNDLED, ScheduleError, beat_schedule, install
from django_notify_tasks.checks.beat import check_beat

USER_COUNTS = "notify-tasks-user-count-report"


def test_bundled_entries_and_their_timing() -> None:
    schedule = beat_schedule({})
    assert {name: entry["task"] for name, entry in schedule.items()} == {
        "notify-tasks-redispatch-stale": "django_notify_tasks.redispatch_stale",
        "notify-tasks-send-digests": "django_notify_tasks.send_digests",
        "notify-tasks-roll-up-deliveries": "django_notify_tasks.roll_up_deliveries",
        "notify-tasks-user-count-report": "django_notify_tasks.user_count_report",
        "notify-tasks-activity-digest": "django_notify_tasks.activity_digest",
        "notify-tasks-purge-old": "django_notify_tasks.purge_old",
    }
    assert schedule["notify-tasks-redispatch-stale"]["schedule"] == 60.0
    assert schedule["notify-tasks-send-digests"]["schedule"] == 60.0
    assert schedule["notify-tasks-roll-up-deliveries"]["schedule"] == 300.0
    assert schedule[USER_COUNTS]["schedule"] == 300.0
    assert schedule["notify-tasks-activity-digest"]["schedule"] == crontab(hour=6, minute=0)
    assert isinstance(schedule["notify-tasks-purge-old"]["schedule"], crontab)


def test_overrides_retime_add_options_remove_and_add() -> None:
    schedule = beat_schedule(
        {
            USER_COUNTS: {"schedule": 1.0, "options": {"expires": 30}},
            "notify-tasks-purge-old": None,
            "nightly-export": {"task": "shop.export", "schedule": crontab(hour=1)},
        },
        queue="notifications",
    )
    assert schedule[USER_COUNTS] == {
        "task": "django_notify_tasks.user_count_report",
        "schedule": 1.0,
        "options": {"queue": "notifications", "expires": 30},
    }
    assert "notify-tasks-purge-old" not in schedule
    assert schedule["nightly-export"]["task"] == "shop.export"
    assert BUNDLED[USER_COUNTS]["schedule"] == 300.0  # the bundled data is not mutated


def test_settings_are_read_when_no_overrides_are_given(settings: Any) -> None:
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {USER_COUNTS: {"schedule": 5.0}}
    settings.NOTIFY_TASKS_QUEUE = "q"
    entry = beat_schedule()[USER_COUNTS]
    assert (entry["schedule"], entry["options"]) == (5.0, {"queue": "q"})


@pytest.mark.parametrize("override", [{"typo-entry": {"schedule": 1.0}}, {USER_COUNTS: 5}])
def test_unusable_override_is_a_clear_error(override: dict[str, Any]) -> None:
    with pytest.raises(ScheduleError, match="NOTIFY_TASKS_BEAT_SCHEDULE"):
        beat_schedule(override)


def test_install_adds_the_schedule_to_a_real_app_on_finalize(settings: Any) -> None:
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {"notify-tasks-purge-old": None}
    app = Celery("host", set_as_current=False)
    app.conf.beat_schedule = {"host-task": {"task": "host.task", "schedule": 10.0}}
    install(app)
    assert "notify-tasks-redispatch-stale" not in app.conf.beat_schedule
    app.finalize()
    assert set(app.conf.beat_schedule) == {
        "host-task",
        "notify-tasks-redispatch-stale",
        "notify-tasks-send-digests",
        "notify-tasks-roll-up-deliveries",
        "notify-tasks-user-count-report",
        "notify-tasks-activity-digest",
    }


def test_schedule_kept_in_settings_reaches_a_real_beat_scheduler(settings: Any) -> None:
    settings.CELERY_BEAT_SCHEDULE = {
        **beat_schedule({"notify-tasks-purge-old": None, USER_COUNTS: {"schedule": 900.0}}),
        "host-task": {"task": "host.task", "schedule": 10.0},
    }
    app = Celery("host", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    scheduler = beat.Scheduler(app=app)  # what `celery beat` builds its entries from
    assert scheduler.schedule[USER_COUNTS].task == "django_notify_tasks.user_count_report"
    assert scheduler.schedule[USER_COUNTS].schedule.run_every.total_seconds() == 900
    assert "notify-tasks-purge-old" not in scheduler.schedule
    assert {"host-task", "notify-tasks-redispatch-stale"} <= set(scheduler.schedule)


def test_install_on_a_finalized_app_applies_at_once() -> None:
    app = Celery("host", set_as_current=False)
    app.finalize()
    install(app)
    assert USER_COUNTS in app.conf.beat_schedule


def test_e016_bad_override(settings: Any) -> None:
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {"typo-entry": {"schedule": 1.0}}
    [error] = check_beat()
    assert error.id == "django_notify_tasks.E016"


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``set(flag)``: whether ``install(app)`` ran in this process (the suite's app calls it)."""
    return lambda flag: monkeypatch.setattr(beat_module, "_installed", flag)


def test_w004_scheduled_report_without_directory(settings: Any, installed: Any) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = None
    installed(True)
    [warning] = check_beat()
    assert warning.id == "django_notify_tasks.W004"
    assert "(activity_digest, user_count_report)" in warning.msg
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {USER_COUNTS: None}
    [warning] = check_beat()
    assert "(activity_digest)" in warning.msg
    assert "'notify-tasks-activity-digest': None" in warning.hint
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {USER_COUNTS: None, "notify-tasks-activity-digest": None}
    assert check_beat() == []


def test_no_w004_where_the_bundled_schedule_is_not_used(settings: Any, installed: Any) -> None:
    # The README's project: no install(app), no beat_schedule(); no report ever runs.
    settings.NOTIFY_TASKS_REPORT_DIR = None
    settings.CELERY_BEAT_SCHEDULE = {"host-task": {"task": "host.task", "schedule": 10.0}}
    installed(False)
    assert check_beat() == []


def test_w004_for_a_schedule_kept_in_settings(settings: Any, installed: Any) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = None
    installed(False)
    settings.CELERY_BEAT_SCHEDULE = beat_schedule({"notify-tasks-activity-digest": None})
    [warning] = check_beat()
    assert warning.id == "django_notify_tasks.W004"
    assert "(user_count_report)" in warning.msg
    settings.CELERY_BEAT_SCHEDULE = beat_schedule(
        {USER_COUNTS: None, "notify-tasks-activity-digest": None}
    )
    assert check_beat() == []


def test_install_marks_the_schedule_as_used(installed: Any) -> None:
    installed(False)
    assert not beat_module.installed()
    install(Celery("host", set_as_current=False))
    assert beat_module.installed()


def test_w032_a_report_dir_that_does_not_exist_yet_is_a_warning(
    settings: Any, tmp_path: Any
) -> None:
    # An error here would stop manage.py migrate on a fresh deployment (checks run first).
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path / "missing")
    [warning] = check_beat()
    assert warning.id == "django_notify_tasks.W014"
    assert "does not exist yet: the first report creates it" in warning.msg
    assert not (tmp_path / "missing").exists()  # a check changes nothing on disk
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    assert check_beat() == []


def test_e015_report_dir_that_is_a_file(settings: Any, tmp_path: Any) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path / "a-file")
    [error] = check_beat()
    assert error.id == "django_notify_tasks.E015"
    assert "is not a writable directory" in error.msg


def test_e015_report_dir_without_write_permission(
    settings: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    # The tests run as root, whom file modes do not stop: deny the access check instead.
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    [error] = check_beat()
    assert error.id == "django_notify_tasks.E015"
    assert "is not a writable directory" in error.msg
