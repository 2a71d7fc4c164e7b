"""notify_tasks_sync_beat against django-celery-beat's real models and DatabaseScheduler."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from celery import Celery
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django_celery_beat.models import (
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)
from django_celery_beat.schedulers import DatabaseScheduler

pytestmark = pytest.mark.django_db

STALE = "notify-tasks-redispatch-stale"
SEND_DIGESTS = "notify-tasks-send-digests"
ROLL_UP = "notify-tasks-roll-up-deliveries"
USER_COUNTS = "notify-tasks-user-count-report"
PURGE = "notify-tasks-purge-old"
DIGEST = "notify-tasks-activity-digest"


def sync(*args: str) -> str:
    out = StringIO()
    call_command("notify_tasks_sync_beat", *args, stdout=out)
    return out.getvalue()


def rows() -> dict[str, tuple[Any, ...]]:
    """Every PeriodicTask with its id and the ids of its schedule rows."""
    return {
        task.name: (task.pk, task.task, task.interval_id, task.crontab_id, task.enabled)
        for task in PeriodicTask.objects.all()
    }


def database_scheduler() -> DatabaseScheduler:
    """django-celery-beat's scheduler as `celery beat -S ...DatabaseScheduler` runs it."""
    return DatabaseScheduler(app=Celery("host", set_as_current=False), lazy=True)


def test_sync_creates_a_row_for_every_bundled_entry() -> None:
    output = sync()
    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    assert {name: task.task for name, task in tasks.items()} == {
        STALE: "django_notify_tasks.redispatch_stale",
        SEND_DIGESTS: "django_notify_tasks.send_digests",
        ROLL_UP: "django_notify_tasks.roll_up_deliveries",
        USER_COUNTS: "django_notify_tasks.user_count_report",
        DIGEST: "django_notify_tasks.activity_digest",
        PURGE: "django_notify_tasks.purge_old",
    }
    assert (tasks[STALE].interval.every, tasks[STALE].interval.period) == (1, "minutes")
    assert (tasks[USER_COUNTS].interval.every, tasks[USER_COUNTS].interval.period) == (
        5,
        "minutes",
    )
    cron = tasks[PURGE].crontab
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == (
        "30",
        "3",
        "*",
        "UTC",
    )
    assert all(task.enabled for task in tasks.values())
    assert f"created       {USER_COUNTS}: every 5 minutes" in output
    assert output.splitlines()[-1] == "6 created, 0 updated, 0 deleted, 0 unchanged."


def test_running_twice_gives_the_same_rows() -> None:
    sync()
    first = rows(), IntervalSchedule.objects.count(), CrontabSchedule.objects.count()
    output = sync()
    assert (rows(), IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == first
    assert output.splitlines()[-1] == "0 created, 0 updated, 0 deleted, 6 unchanged."


def test_existing_schedule_rows_are_reused() -> None:
    five_minutes = IntervalSchedule.objects.create(every=5, period="minutes")
    sync()
    assert PeriodicTask.objects.get(name=USER_COUNTS).interval_id == five_minutes.pk
    assert IntervalSchedule.objects.count() == 2  # 5 minutes (reused) and 1 minute


def test_an_entry_disabled_in_the_admin_stays_disabled_when_retimed(settings: Any) -> None:
    sync()
    task = PeriodicTask.objects.get(name=USER_COUNTS)
    task.enabled = False
    task.save()
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {USER_COUNTS: {"schedule": 900.0}}
    output = sync()
    task.refresh_from_db()
    assert (task.enabled, task.interval.every, task.interval.period) == (False, 15, "minutes")
    assert f"{USER_COUNTS}: schedule (disabled in the admin; stays disabled)" in output
    assert USER_COUNTS not in database_scheduler().all_as_schedule()


def test_admin_edits_other_than_enabled_are_set_back() -> None:
    sync()
    task = PeriodicTask.objects.get(name=STALE)
    task.interval = IntervalSchedule.objects.create(every=7, period="seconds")
    task.args, task.queue = '["x"]', "elsewhere"
    task.save()
    output = sync()
    task.refresh_from_db()
    assert (task.interval.every, task.interval.period, task.args, task.queue) == (
        1,
        "minutes",
        "[]",
        None,
    )
    assert f"updated       {STALE}: schedule, args, queue" in output


def test_only_its_own_stale_rows_are_deleted(settings: Any) -> None:
    sync()
    hourly = IntervalSchedule.objects.create(every=1, period="hours")
    # The host's own row, even one running a task of this package, is never touched.
    host = PeriodicTask.objects.create(
        name="host-purge", task="django_notify_tasks.purge_old", interval=hourly, queue="host"
    )
    PeriodicTask.objects.create(name="notify-tasks-old-entry", task="x.y", interval=hourly)
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {PURGE: None}
    output = sync()
    assert set(rows()) == {STALE, SEND_DIGESTS, ROLL_UP, USER_COUNTS, DIGEST, "host-purge"}
    assert rows()["host-purge"] == (host.pk, host.task, hourly.pk, None, True)
    assert PeriodicTask.objects.get(name="host-purge").queue == "host"
    assert "deleted       notify-tasks-old-entry" in output
    assert f"deleted       {PURGE}" in output


def test_entries_added_in_settings_are_synced_with_their_options(settings: Any) -> None:
    settings.NOTIFY_TASKS_QUEUE = "notifications"
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {
        USER_COUNTS: {"schedule": crontab(minute="*/15"), "options": {"expires": 600}},
        "nightly-export": {
            "task": "shop.export",
            "schedule": crontab(hour=[1, 13], minute=0),
            "args": (7,),
            "kwargs": {"full": True},
            "options": {"priority": 0, "headers": {"origin": "beat"}},
        },
    }
    sync()
    task = PeriodicTask.objects.get(name="nightly-export")
    assert (task.args, task.kwargs, task.queue, task.priority) == (
        "[7]",
        '{"full": true}',
        "notifications",
        0,
    )
    assert (task.crontab.hour, task.crontab.minute) == ("1,13", "0")
    report = PeriodicTask.objects.get(name=USER_COUNTS)
    assert (report.crontab.minute, report.expire_seconds) == ("*/15", 600)
    assert sync().splitlines()[-1] == "0 created, 0 updated, 0 deleted, 7 unchanged."
    entries = database_scheduler().all_as_schedule()
    assert entries[USER_COUNTS].options["queue"] == "notifications"
    assert entries[USER_COUNTS].options["expires"] == 600
    assert entries["nightly-export"].schedule.hour == {1, 13}
    assert (entries["nightly-export"].args, entries["nightly-export"].kwargs) == (
        [7],
        {"full": True},
    )


def test_dry_run_writes_nothing(settings: Any) -> None:
    output = sync("--dry-run")
    assert (PeriodicTask.objects.count(), IntervalSchedule.objects.count()) == (0, 0)
    assert f"would create  {STALE}: every 1 minute" in output
    assert output.splitlines()[-1].endswith("(dry run: nothing written).")
    sync()
    before = rows(), IntervalSchedule.objects.count(), PeriodicTasks.last_change()
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {STALE: {"schedule": 120.0}, PURGE: None}
    output = sync("--dry-run")
    assert (rows(), IntervalSchedule.objects.count(), PeriodicTasks.last_change()) == before
    assert f"would update  {STALE}: schedule" in output
    assert f"would delete  {PURGE}" in output


@pytest.mark.django_db(transaction=True)  # the scheduler commits and closes old connections
def test_a_running_database_scheduler_sees_changes_and_only_changes() -> None:
    scheduler = database_scheduler()
    sync()
    scheduler.schedule_changed()  # remembers the current change time, as beat does each tick
    sync()
    assert scheduler.schedule_changed() is False  # nothing to reload after a sync that did nothing
    PeriodicTask.objects.filter(name=STALE).update(queue="moved")  # no signals: not marked
    assert scheduler.schedule_changed() is False
    sync()
    assert scheduler.schedule_changed() is True
    # (It loads a crontab with a single hour, like purge-old's, only within 2 hours of it.)
    assert {STALE, USER_COUNTS} <= set(scheduler.all_as_schedule())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"schedule": 0.5}, "whole seconds, at least 1"),
        ({"options": {"countdown": 5}}, "option countdown=5 cannot be stored"),
        ({"relative": True}, r"\['relative'\] cannot be stored"),
    ],
)
def test_an_entry_that_cannot_be_stored_is_an_error_and_nothing_is_written(
    settings: Any, override: dict[str, Any], message: str
) -> None:
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {PURGE: {"schedule": 7200.0}, USER_COUNTS: override}
    with pytest.raises(CommandError, match=message) as error:
        sync()
    assert USER_COUNTS in str(error.value)
    assert PeriodicTask.objects.count() == 0


def test_a_bad_override_is_the_schedule_error(settings: Any) -> None:
    settings.NOTIFY_TASKS_BEAT_SCHEDULE = {"typo": {"schedule": 1.0}}
    with pytest.raises(CommandError, match="NOTIFY_TASKS_BEAT_SCHEDULE"):
        sync()


def test_installed_but_not_in_installed_apps_says_so(settings: Any) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if "celery_beat" not in app]
    with pytest.raises(CommandError, match="'django_celery_beat' should be in INSTALLED_APPS"):
        sync()
