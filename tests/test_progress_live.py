"""Live progress on the digest channel: payloads, throttle, final state, and faults.

The real cent client publishes to the strict Centrifugo double; the clock is a fake one the
tests step, so the throttle's choices are exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from django_notify_tasks import reports
from django_notify_tasks.reports import live

pytestmark = pytest.mark.django_db

TASK_ID = "0b9f6c2e-4a1d-4c7e-9a51-3d2f1e0c9b8a"


class FakeClock:
    def __init__(self) -> None:
        self.time = 1000.0

    def __call__(self) -> float:
        return self.time


@pytest.fixture
def clock(monkeypatch: Any) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(live, "now", fake)
    return fake


def progress_to(centrifugo: Any, channel: str = "staff:digest") -> list[dict[str, Any]]:
    return [p.data for p in centrifugo.publications_to(channel) if p.data["type"] == "progress"]


def run_steps(
    progress: reports.LiveProgress, clock: FakeClock, total: int, seconds_per_step: float
) -> None:
    for step in range(1, total + 1):
        clock.time += seconds_per_step
        progress.step(step, total)


def test_a_step_is_published_as_a_small_progress_message(
    centrifugo: Any, clock: FakeClock
) -> None:
    reports.LiveProgress(TASK_ID).step(3, 7)

    [publication] = centrifugo.publications_to("staff:digest")
    assert publication.data == {
        "type": "progress",
        "report": "activity_digest",
        "task_id": TASK_ID,
        "state": "PROGRESS",
        "current": 3,
        "total": 7,
        "percent": 43,
        "summary": None,
        "error": None,
    }


def test_many_slow_steps_publish_once_per_whole_percent(centrifugo: Any, clock: FakeClock) -> None:
    run_steps(reports.LiveProgress(TASK_ID), clock, total=1000, seconds_per_step=0.0625)

    assert centrifugo.requests_count == 101  # 0 % (the first step rounds down) to 100 %
    assert [m["percent"] for m in progress_to(centrifugo)] == list(range(101))


def test_many_fast_steps_publish_at_most_five_a_second(centrifugo: Any, clock: FakeClock) -> None:
    # One percent per step, a step every 1/16 s: four steps (0.25 s) pass the 0.2 s gap.
    run_steps(reports.LiveProgress(TASK_ID), clock, total=100, seconds_per_step=0.0625)

    assert [m["current"] for m in progress_to(centrifugo)] == list(range(1, 101, 4))


def test_steps_within_the_same_percent_are_not_published(
    centrifugo: Any, clock: FakeClock
) -> None:
    progress = reports.LiveProgress(TASK_ID)
    for step in (1, 2, 3):  # 0.1 %, 0.2 %, 0.3 % of 1,000: all round to 0
        clock.time += 10
        progress.step(step, 1000)

    assert [m["current"] for m in progress_to(centrifugo)] == [1]


def digest_result() -> dict[str, Any]:
    return {
        "report": "activity_digest",
        "period": {"start": "2026-11-01T00:00:00+00:00", "end": "2026-11-02T00:00:00+00:00"},
        "totals": {"sent": 3, "failed": 1, "pending": 0, "cancelled": 0, "slowest_seconds": 2.0},
        "rules": [{"rule": "member-joined", "channel": "email", "sent": 3}],
        "top_failures": [{"reason": "550 no such user", "count": 1}],
        "new_users": 2,
        "file": "/srv/reports/activity_digest_20261101T000000Z_20261102T000000Z.json",
        "emailed": 1,
        "published": "staff:digest",
    }


def test_success_is_published_last_with_a_summary_and_no_paths(
    centrifugo: Any, clock: FakeClock
) -> None:
    progress = reports.LiveProgress(TASK_ID)

    def report(hours: int) -> dict[str, Any]:
        progress.step(1, 2)
        return {**digest_result(), "hours": hours}

    assert progress.run(report, hours=24)["hours"] == 24

    *steps, final = progress_to(centrifugo)
    assert [m["state"] for m in steps] == ["PROGRESS"]
    assert final == {
        "type": "progress",
        "report": "activity_digest",
        "task_id": TASK_ID,
        "state": "SUCCESS",
        "current": 2,
        "total": 2,
        "percent": 100,
        "summary": {
            "period": digest_result()["period"],
            "totals": digest_result()["totals"],
            "new_users": 2,
            "emailed": 1,
            "published": "staff:digest",
            "file": "activity_digest_20261101T000000Z_20261102T000000Z.json",
        },
        "error": None,
    }


def test_failure_is_published_with_the_reason_and_the_error_still_raised(
    centrifugo: Any, clock: FakeClock
) -> None:
    progress = reports.LiveProgress(TASK_ID)

    def report() -> dict[str, Any]:
        progress.step(2, 7)
        raise reports.ReportDirError("NOTIFY_TASKS_REPORT_DIR '/gone' is not a writable directory")

    with pytest.raises(reports.ReportDirError):
        progress.run(report)

    final = progress_to(centrifugo)[-1]
    assert (final["state"], final["current"], final["total"], final["percent"]) == (
        "FAILURE",
        2,
        7,
        29,
    )
    assert final["error"] == "NOTIFY_TASKS_REPORT_DIR '/gone' is not a writable directory"
    assert final["summary"] is None


def test_a_failure_before_any_step_has_no_total(centrifugo: Any, clock: FakeClock) -> None:
    def report() -> dict[str, Any]:
        raise reports.DigestPeriodError("hours should be a number")

    with pytest.raises(reports.DigestPeriodError):
        reports.LiveProgress(TASK_ID).run(report)

    [final] = progress_to(centrifugo)
    assert (final["state"], final["current"], final["total"], final["percent"]) == (
        "FAILURE",
        0,
        None,
        0,
    )


@pytest.fixture
def a_run(centrifugo: Any, clock: FakeClock) -> Callable[[], dict[str, Any]]:
    """Seven steps a second apart, then success; what the report returned."""

    def run() -> dict[str, Any]:
        progress = reports.LiveProgress(TASK_ID)

        def report() -> dict[str, Any]:
            run_steps(progress, clock, total=7, seconds_per_step=1)
            return digest_result()

        return progress.run(report)

    return run


@pytest.mark.parametrize("fault", ["http_503", "drop", "code_100"])
def test_a_failed_publication_ends_live_progress_for_the_run_and_is_logged(
    centrifugo: Any, a_run: Callable[[], dict[str, Any]], caplog: Any, fault: str
) -> None:
    centrifugo.fail_next(fault)
    with caplog.at_level(logging.WARNING, logger="django_notify_tasks.reports.live"):
        assert a_run() == digest_result()

    assert centrifugo.requests_count == 1  # one attempt: no more steps, no final state
    assert centrifugo.publications == []
    assert f"Live progress of {TASK_ID} on staff:digest stopped for this run" in caplog.text


def test_a_hung_centrifugo_is_waited_for_once_per_run(
    centrifugo: Any, a_run: Callable[[], dict[str, Any]]
) -> None:
    centrifugo.fail_next("timeout", delay=5)  # the client gives up after 0.5 s

    assert a_run() == digest_result()
    assert centrifugo.requests_count == 1


def test_an_unknown_namespace_ends_live_progress_for_the_run(
    settings: Any, centrifugo: Any, a_run: Callable[[], dict[str, Any]], caplog: Any
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "nowhere:digest"
    with caplog.at_level(logging.WARNING, logger="django_notify_tasks.reports.live"):
        a_run()

    assert centrifugo.requests_count == 1
    assert "Centrifugo error 102: unknown channel" in caplog.text


def test_nothing_is_published_while_realtime_is_off(
    settings: Any, centrifugo: Any, a_run: Callable[[], dict[str, Any]]
) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    a_run()
    assert centrifugo.requests_count == 0


def test_nothing_is_published_without_a_digest_channel(
    settings: Any, centrifugo: Any, a_run: Callable[[], dict[str, Any]]
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = None
    a_run()
    assert centrifugo.requests_count == 0


def test_nothing_is_published_outside_a_task_run(centrifugo: Any, clock: FakeClock) -> None:
    progress = reports.LiveProgress(None)  # the report called as a plain function
    progress.step(1, 2)
    progress.run(digest_result)
    assert centrifugo.requests_count == 0


def test_the_channel_comes_from_the_setting(
    settings: Any, centrifugo: Any, a_run: Callable[[], dict[str, Any]]
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "chats:ops"
    a_run()
    assert [m["state"] for m in progress_to(centrifugo, "chats:ops")] == ["PROGRESS"] * 7 + [
        "SUCCESS"
    ]
