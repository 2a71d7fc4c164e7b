"""The activity digest on known data: figures, medians, the JSON file, queries, the period."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_notify_tasks import reports, tasks
from django_notify_tasks.reports.period import digest_period
from tests.conftest import make_user
from tests.support.reports_data import record_delivery

pytestmark = pytest.mark.django_db

SMTP_550 = "SMTPRecipientsRefused: 550 no such user"
RESULT_ONLY = ("file", "emailed", "published")


@pytest.fixture
def report_dir(settings: Any, tmp_path: Path) -> Path:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    return tmp_path


def known_data(now: datetime) -> None:
    for delay in (2, 10, 4):
        record_delivery("member-joined", "email", delay=delay)
    record_delivery("member-joined", "email", "failed", error=SMTP_550)
    record_delivery("member-joined", "email", "failed", error=SMTP_550)
    record_delivery("member-joined", "email", "failed", error="TimeoutError: timed out")
    record_delivery("member-joined", "email", "pending")
    record_delivery("member-joined", "email", "retrying")
    record_delivery("member-joined", "email", "cancelled")
    record_delivery("member-joined", "email", "skipped", error="not sent: off by default")
    for delay in (3, 1):
        record_delivery("member-joined", "realtime", delay=delay)
    record_delivery("member-joined", "realtime", "failed", error="Centrifugo error 102: unknown")
    record_delivery("chat-renamed", "email", "sending")
    # Two days old: outside the default period, and slower than everything inside it.
    record_delivery("member-joined", "email", at=now - timedelta(days=2), delay=100)
    for name, joined in [("ann", 1), ("bob", 23), ("old", 72)]:
        make_user(name).__class__.objects.filter(username=name).update(
            date_joined=now - timedelta(hours=joined)
        )


def group(rule: str, channel: str, counts: tuple[int, int, int, int, int], **times: Any) -> dict:
    sent, failed, pending, cancelled, skipped = counts
    return {
        "rule": rule,
        "channel": channel,
        "sent": sent,
        "failed": failed,
        "pending": pending,
        "cancelled": cancelled,
        "skipped": skipped,
        "median_seconds": times.get("median"),
        "slowest_seconds": times.get("slowest"),
    }


def test_digest_figures_on_known_data(report_dir: Path) -> None:
    now = timezone.now()
    known_data(now)

    result = reports.activity_digest(end=now, send=False)

    assert result["rules"] == [
        group("chat-renamed", "email", (0, 0, 1, 0, 0)),
        group("member-joined", "email", (3, 3, 2, 1, 1), median=4.0, slowest=10.0),
        group("member-joined", "realtime", (2, 1, 0, 0, 0), median=2.0, slowest=3.0),
    ]
    assert result["totals"] == {
        "sent": 5,
        "failed": 4,
        "pending": 3,
        "cancelled": 1,
        "skipped": 1,
        "slowest_seconds": 10.0,
    }
    assert result["top_failures"] == [
        {"rule": "member-joined", "channel": "email", "reason": SMTP_550, "count": 2},
        {
            "rule": "member-joined",
            "channel": "email",
            "reason": "TimeoutError: timed out",
            "count": 1,
        },
        {
            "rule": "member-joined",
            "channel": "realtime",
            "reason": "Centrifugo error 102: unknown",
            "count": 1,
        },
    ]
    assert result["new_users"] == 2
    utc_now = now.astimezone(dt_timezone.utc)
    assert result["period"] == {
        "start": (utc_now - timedelta(hours=24)).isoformat(timespec="seconds"),
        "end": utc_now.isoformat(timespec="seconds"),
    }


def test_an_explicit_period_counts_only_its_own_notifications(report_dir: Path) -> None:
    now = timezone.now()
    known_data(now)
    start, end = (now - timedelta(days=3)).isoformat(), (now - timedelta(days=1)).isoformat()

    result = reports.activity_digest(start, end, send=False)

    assert result["rules"] == [
        group("member-joined", "email", (1, 0, 0, 0, 0), median=100.0, slowest=100.0)
    ]
    assert result["new_users"] == 1
    assert result["top_failures"] == []


def test_medians_of_even_and_odd_groups(report_dir: Path) -> None:
    for delay in (8, 1, 5, 2, 100, 7):
        record_delivery("r", delay=delay)
    [row] = reports.activity_digest(send=False)["rules"]
    assert (row["median_seconds"], row["slowest_seconds"]) == (6.0, 100.0)  # (5 + 7) / 2

    record_delivery("r", delay=5)  # 1 2 5 [5] 7 8 100
    [row] = reports.activity_digest(send=False)["rules"]
    assert row["median_seconds"] == 5.0


def test_the_digest_is_written_as_json_beside_the_user_counts(report_dir: Path) -> None:
    record_delivery("member-joined", delay=3)
    reports.user_count_report()
    result = reports.activity_digest(
        "2020-01-01T00:00:00Z", timezone.now() + timedelta(minutes=1), send=False
    )

    path = Path(result["file"])
    assert path.parent == report_dir
    assert path.name.startswith("activity_digest_20200101T000000Z_")
    written = json.loads(path.read_text())
    assert written == {k: v for k, v in result.items() if k not in RESULT_ONLY}
    assert written["rules"][0]["median_seconds"] == 3.0
    assert sorted(p.name for p in report_dir.iterdir()) == sorted([path.name, "user_counts.csv"])


def test_queries_do_not_grow_with_rows(settings: Any, report_dir: Path) -> None:
    settings.ADMINS = ["ops@chat.example"]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            reports.activity_digest()
        return len(captured)

    record_delivery("a", "email", delay=1)
    record_delivery("a", "realtime", "failed", error="x")
    small = queries()
    for n in range(60):
        record_delivery(
            f"rule-{n % 6}",
            ("email", "realtime")[n % 2],
            ("sent", "failed")[n % 3 == 0],
            delay=n,
            error=f"e{n % 4}",
        )
        make_user(f"user{n}")
    large = queries()

    assert small == large <= 5


def test_progress_counts_every_step(report_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    reports.activity_digest(progress=lambda current, total: seen.append((current, total)))
    assert seen == [(n, 7) for n in range(1, 8)]
    seen.clear()
    reports.activity_digest(
        send=False, progress=lambda current, total: seen.append((current, total))
    )
    assert seen == [(n, 5) for n in range(1, 6)]


@pytest.mark.parametrize("configured", [None, "a-file", "read-only"])
def test_without_a_writable_report_dir_the_digest_fails_with_the_reason(
    settings: Any, tmp_path: Path, monkeypatch: Any, configured: str | None
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "read-only").mkdir()
    if configured == "read-only":  # root ignores file modes: deny the access check instead
        monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)
    settings.NOTIFY_TASKS_REPORT_DIR = configured and str(tmp_path / configured)
    reason = "is not set" if configured is None else "is not a writable directory"

    with (
        CaptureQueriesContext(connection) as captured,
        pytest.raises(reports.ReportDirError, match=reason),
    ):
        reports.activity_digest()
    assert len(captured) == 0  # it fails before it does any work

    outcome = tasks.activity_digest.apply(kwargs={"hours": 2})
    assert outcome.state == "FAILURE"
    assert isinstance(outcome.result, reports.ReportDirError)
    assert reason in str(outcome.result)
    with pytest.raises(CommandError, match=reason):
        call_command("notify_tasks_report", "activity_digest")


def test_report_command_runs_the_digest_with_its_options(report_dir: Path, capsys: Any) -> None:
    record_delivery("member-joined", delay=2, at=timezone.now() - timedelta(hours=30))
    call_command("notify_tasks_report", "activity_digest", "--hours", "48", "--no-send")
    out = capsys.readouterr().out
    assert out.startswith("activity_digest: {")
    assert json.loads(out.partition(": ")[2])["totals"]["sent"] == 1
    with pytest.raises(CommandError, match="should be an ISO 8601"):
        call_command("notify_tasks_report", "activity_digest", "--start", "yesterday")
    with pytest.raises(CommandError, match="apply to activity_digest only"):
        call_command("notify_tasks_report", "user_counts", "--hours", "2")


NOW = datetime(2026, 11, 22, 6, 0, tzinfo=dt_timezone.utc)


@pytest.mark.parametrize(
    ("kwargs", "start", "end"),
    [
        ({}, "2026-11-21T06:00:00+00:00", "2026-11-22T06:00:00+00:00"),
        ({"hours": 168}, "2026-11-15T06:00:00+00:00", "2026-11-22T06:00:00+00:00"),
        ({"start": "2026-11-01T00:00:00Z"}, "2026-11-01T00:00:00+00:00", NOW.isoformat()),
        (
            {"start": "2026-11-01", "end": "2026-11-02T01:00:00+01:00"},
            "2026-11-01T00:00:00+00:00",  # naive: TIME_ZONE, UTC in the tests
            "2026-11-02T00:00:00+00:00",
        ),
        ({"end": "2026-11-10T12:00:00+00:00", "hours": 12}, "2026-11-10T00:00:00+00:00", None),
    ],
)
def test_period_from_task_arguments(kwargs: dict[str, Any], start: str, end: str | None) -> None:
    period = digest_period(**kwargs, now=NOW).as_json()
    assert period["start"] == start
    assert period["end"] == (end or kwargs["end"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-11-01", "hours": 2}, "Give start or hours, not both"),
        ({"start": "2026-11-23"}, "should be before end"),
        ({"start": "yesterday"}, "start should be an ISO 8601 date or date and time"),
        ({"end": "2026-13-01T00:00:00"}, "end should be an ISO 8601"),
        ({"end": 1700000000}, "end should be an ISO 8601 string"),
        ({"hours": 0}, "hours should be a number of hours above 0"),
        ({"hours": "24"}, "not '24'"),
        ({"hours": True}, "not True"),
        ({"hours": 10**9}, "at most"),
    ],
)
def test_a_bad_period_is_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(reports.DigestPeriodError, match=message):
        digest_period(**kwargs, now=NOW)
