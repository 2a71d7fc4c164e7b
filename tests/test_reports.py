"""Reports on known data: user counts to CSV, concurrent appends, purging old rows."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
from datetime import timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_notify_tasks import reports
from django_notify_tasks.models import Delivery, Notification
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_user_counts_on_known_data(settings: Any, tmp_path: Path, django_user_model: Any) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    now = timezone.now()
    make_user("new")
    old = make_user("old")
    old.date_joined = now - timedelta(days=3)
    old.save()
    make_user("gone").__class__.objects.filter(username="gone").update(is_active=False)
    django_user_model.objects.create_user("boss", "boss@chat.example", "pw", is_staff=True)

    reports.user_count_report(now)
    reports.user_count_report(now)

    [first, second] = rows(tmp_path / "user_counts.csv")
    assert first == {
        "timestamp": now.astimezone(dt_timezone.utc).isoformat(timespec="seconds"),
        "total_users": "4",
        "active_users": "3",
        "joined_24h": "3",
        "staff_users": "1",
    }
    assert second == first
    assert (tmp_path / "user_counts.csv").read_text().count("timestamp") == 1


def _append_many(path: str, start: int) -> None:
    for i in range(start, start + 200):
        reports.append_csv_row(Path(path), ["n", "pad"], {"n": i, "pad": "x" * 200})


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(path), k * 1000)) for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    lines = path.read_text().splitlines()
    assert lines[0] == "n,pad"
    assert lines.count("n,pad") == 1
    assert len(lines) == 1 + 800
    assert all(line.endswith("," + "x" * 200) for line in lines[1:])
    assert len({line.split(",")[0] for line in lines[1:]}) == 800


def test_missing_report_dir_fails_with_the_reason(settings: Any) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = None
    with pytest.raises(reports.ReportDirError, match="NOTIFY_TASKS_REPORT_DIR is not set"):
        reports.user_count_report()
    with pytest.raises(CommandError, match="NOTIFY_TASKS_REPORT_DIR is not set"):
        call_command("notify_tasks_report", "user_counts")


@pytest.mark.parametrize("configured", ["a-file", "read-only"])
def test_unusable_report_dir_fails_the_user_count_with_the_reason(
    settings: Any, tmp_path: Path, monkeypatch: Any, configured: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "read-only").mkdir()
    if configured == "read-only":  # root ignores file modes: deny the access check instead
        monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path / configured)
    with pytest.raises(reports.ReportDirError, match="is not a writable directory"):
        reports.user_count_report()
    assert not list((tmp_path / "read-only").iterdir())


def test_report_command_writes_the_row(settings: Any, tmp_path: Path, capsys: Any) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    make_user("ann")
    call_command("notify_tasks_report", "user_counts")
    assert rows(tmp_path / "user_counts.csv")[0]["total_users"] == "1"
    assert "user_counts: {" in capsys.readouterr().out


def test_purge_old_deletes_in_batches_and_keeps_recent(settings: Any) -> None:
    settings.NOTIFY_TASKS_RETENTION_DAYS = 30

    def notification(status: str, age_days: int) -> Notification:
        row = Notification.objects.create(
            rule="r", event="created", model="m.m", object_pk="1", status=status
        )
        Notification.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - timedelta(days=age_days)
        )
        return row

    old = [notification("processed", 31) for _ in range(5)]
    Delivery.objects.create(
        notification=old[0], channel="email", target="a@chat.example", status="sent"
    )
    keep = [
        notification("processed", 29),
        notification("pending", 31),  # never processed: not purged
        notification("processed", 31),
    ]
    Delivery.objects.create(
        notification=keep[2], channel="email", target="b@chat.example", status="retrying"
    )

    assert reports.purge_old(batch_size=2) == 5
    assert sorted(Notification.objects.values_list("pk", flat=True)) == [n.pk for n in keep]
    assert list(Delivery.objects.values_list("target", flat=True)) == ["b@chat.example"]


def test_json_reports_replace_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "digest.json"
    reports.write_json_atomic(path, {"n": 1})
    reports.write_json_atomic(path, {"n": 2, "when": timezone.now()})
    assert json.loads(path.read_text())["n"] == 2
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["digest.json"]


def test_a_json_report_that_cannot_be_written_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "digest.json"
    reports.write_json_atomic(path, {"n": 1})
    with pytest.raises(TypeError):
        reports.write_json_atomic(path, {"n": object()})
    (tmp_path / "taken.json").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        reports.write_json_atomic(tmp_path / "taken.json", {"n": 3})
    assert json.loads(path.read_text()) == {"n": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest.json", "taken.json"]


def test_the_first_report_creates_a_report_dir_that_does_not_exist_yet(
    settings: Any, tmp_path: Path
) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path / "reports" / "users")
    reports.user_count_report()
    assert (tmp_path / "reports" / "users" / reports.USER_COUNTS_FILE).is_file()
