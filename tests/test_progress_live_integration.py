"""A real digest run's live progress: real worker, real Redis, real cent client, the double."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_notify_tasks import reports, tasks
from django_notify_tasks.reports import live
from tests.support.reports_data import record_delivery

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def period(settings: Any, tmp_path: Path) -> dict[str, str]:
    """Known data, and a fixed period around it, so two runs give the same figures."""
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    settings.ADMINS = ["ops@chat.example"]
    record_delivery("member-joined", delay=3)
    record_delivery("member-joined", "email", "failed", error="550 no such user")
    now = timezone.now()
    return {"start": (now - timedelta(days=2)).isoformat(), "end": now.isoformat()}


@pytest.fixture
def steady_clock(monkeypatch: Any) -> None:
    """Each reading of the throttle's clock is 1/8 s after the last: every other step is due."""
    ticks = iter(range(1, 10_000))
    monkeypatch.setattr(live, "now", lambda: next(ticks) / 8)


def run_digest(**kwargs: Any) -> tuple[str, dict[str, Any]]:
    sent = tasks.activity_digest.delay(**kwargs)
    return sent.id, sent.get(timeout=30)


def progress_messages(centrifugo: Any) -> list[dict[str, Any]]:
    published = [p.data for p in centrifugo.publications_to("staff:digest")]
    return [data for data in published if data.get("type") == "progress"]


def without_time(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "generated_at"}


def test_a_digest_run_publishes_throttled_progress_then_its_result(
    centrifugo: Any, celery_worker: Any, period: dict[str, str], steady_clock: None
) -> None:
    task_id, result = run_digest(**period)

    messages = progress_messages(centrifugo)
    assert {m["task_id"] for m in messages} == {task_id}
    assert [(m["state"], m["current"], m["total"], m["percent"]) for m in messages] == [
        ("PROGRESS", 1, 7, 14),  # steps 2, 4 and 6 came 1/8 s after a published one
        ("PROGRESS", 3, 7, 43),
        ("PROGRESS", 5, 7, 71),
        ("PROGRESS", 7, 7, 100),
        ("SUCCESS", 7, 7, 100),
    ]
    summary = messages[-1]["summary"]
    assert (
        summary["totals"]
        == result["totals"]
        == {
            "sent": 1,
            "failed": 1,
            "pending": 0,
            "cancelled": 0,
            "skipped": 0,
            "slowest_seconds": 3.0,
        }
    )
    assert summary["file"] == Path(result["file"]).name
    assert (summary["emailed"], summary["published"]) == (1, "staff:digest")
    # The digest itself goes to the same channel, as before: the one message without a type.
    [digest] = [p.data for p in centrifugo.publications_to("staff:digest") if "type" not in p.data]
    assert digest["totals"] == result["totals"]


def test_a_failed_digest_publishes_its_reason_last(
    settings: Any, centrifugo: Any, celery_worker: Any
) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = None

    sent = tasks.activity_digest.delay()
    with pytest.raises(reports.ReportDirError, match="NOTIFY_TASKS_REPORT_DIR is not set"):
        sent.get(timeout=30)

    [final] = progress_messages(centrifugo)
    assert (final["task_id"], final["state"]) == (sent.id, "FAILURE")
    assert final["error"].startswith("NOTIFY_TASKS_REPORT_DIR is not set")


@pytest.mark.parametrize("fault", ["stopped", "http_503", "http_500", "timeout"])
def test_with_centrifugo_down_or_failing_the_digest_gives_the_same_result(
    centrifugo: Any, celery_worker: Any, period: dict[str, str], fault: str
) -> None:
    _, healthy = run_digest(**period, send=False)
    assert progress_messages(centrifugo)[-1]["state"] == "SUCCESS"
    centrifugo.clear_records()
    if fault == "stopped":
        centrifugo.stop()
    elif fault == "timeout":
        centrifugo.fail_next("timeout", delay=5)  # the client gives up after 0.5 s
    else:
        centrifugo.fail_next(fault)

    _, failing = run_digest(**period, send=False)

    assert without_time(failing) == without_time(healthy)
    assert centrifugo.requests_count == (0 if fault == "stopped" else 1)  # tried once per run


def test_a_5xx_on_progress_leaves_the_digest_publication_alone(
    centrifugo: Any, celery_worker: Any, period: dict[str, str]
) -> None:
    centrifugo.fail_next("http_503")  # the first progress step

    _, result = run_digest(**period)

    assert result["published"] == "staff:digest"
    [publication] = centrifugo.publications
    assert publication.data["report"] == "activity_digest"
    assert "type" not in publication.data  # the digest, no progress message


def test_with_realtime_off_a_digest_run_publishes_nothing(
    settings: Any, centrifugo: Any, celery_worker: Any, period: dict[str, str]
) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None

    _, result = run_digest(**period)

    assert result["published"] is None
    assert centrifugo.requests_count == 0
