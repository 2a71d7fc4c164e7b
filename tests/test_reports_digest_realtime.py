"""The digest published on the staff channel, with the real cent client, to the double."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from django_notify_tasks import reports
from django_notify_tasks.channels.realtime import tokens
from tests.conftest import make_user
from tests.support.reports_data import record_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def report_dir(settings: Any, tmp_path: Path) -> Path:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    settings.ADMINS = ["ops@chat.example"]
    return tmp_path


def test_digest_is_published_on_the_staff_channel(report_dir: Path, centrifugo: Any) -> None:
    record_delivery("member-joined", delay=2)
    record_delivery("member-joined", "realtime", "failed", error="Centrifugo error 102")

    result = reports.activity_digest()

    assert result["published"] == "staff:digest"
    [publication] = centrifugo.publications_to("staff:digest")
    written = json.loads(Path(result["file"]).read_text())
    assert publication.data == {**written, "file": Path(result["file"]).name}
    assert publication.data["totals"]["sent"] == 1
    assert publication.idempotency_key.startswith("notify-tasks-digest-")
    assert len(mail.outbox) == 1  # and emailed too


def test_the_same_period_is_published_once(report_dir: Path, centrifugo: Any) -> None:
    reports.activity_digest("2026-11-01", "2026-11-02")
    reports.activity_digest("2026-11-01", "2026-11-02")
    assert centrifugo.requests_count == 2
    assert len(centrifugo.publications) == 1  # the idempotency key holds the repeat back


def test_channel_from_the_setting_and_none_turns_it_off(
    settings: Any, report_dir: Path, centrifugo: Any
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "chats:ops"
    assert reports.activity_digest()["published"] == "chats:ops"
    assert [p.channel for p in centrifugo.publications] == ["chats:ops"]

    settings.NOTIFY_TASKS_DIGEST_CHANNEL = None
    assert reports.activity_digest()["published"] is None
    assert centrifugo.requests_count == 1


def test_nothing_is_published_while_realtime_is_off(settings: Any, report_dir: Path) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    assert reports.activity_digest()["published"] is None


def test_a_centrifugo_error_fails_the_digest_after_emailing_it(
    settings: Any, report_dir: Path, centrifugo: Any
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "nowhere:digest"  # a namespace Centrifugo lacks
    with pytest.raises(reports.DigestNotSent, match="staff channel: Centrifugo error 102"):
        reports.activity_digest()
    assert len(mail.outbox) == 1
    assert len(list(report_dir.glob("activity_digest_*.json"))) == 1


def test_centrifugo_down_fails_the_digest_with_the_reason(
    report_dir: Path, centrifugo: Any
) -> None:
    centrifugo.fail_next("http_503")
    with pytest.raises(reports.DigestNotSent, match="staff channel: .*503"):
        reports.activity_digest()


def test_staff_may_subscribe_to_the_digest_channel(settings: Any) -> None:
    staff, member = make_user("boss"), make_user("bob")
    staff.is_staff = True
    assert tokens.may_subscribe(staff, "staff:digest")
    assert not tokens.may_subscribe(member, "staff:digest")
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = None
    assert not tokens.may_subscribe(staff, "staff:digest")
