"""The digest emailed to ADMINS, text and HTML, through the package's mailer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from django_notify_tasks import reports
from tests.support.reports_data import record_delivery
from tests.support.services import SmtpServer

pytestmark = pytest.mark.django_db

ADMINS = ["ops@chat.example", "cto@chat.example"]
ESCAPED_REASON = "550 &lt;x@chat.example&gt;: no such user"


@pytest.fixture
def digest_settings(settings: Any, tmp_path: Path) -> Any:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    settings.ADMINS = ADMINS
    settings.EMAIL_SUBJECT_PREFIX = "[chat] "
    return settings


def some_activity() -> None:
    for delay in (2, 6, 4):
        record_delivery("member-joined", "email", delay=delay)
    record_delivery("member-joined", "email", "failed", error="550 <x@chat.example>: no such user")
    record_delivery("member-joined", "realtime", "pending")


def html_of(message: Any) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


def test_digest_email_text_and_html(digest_settings: Any) -> None:
    some_activity()
    result = reports.activity_digest()

    assert result["emailed"] == 2
    [message] = mail.outbox
    assert message.to == ADMINS
    assert message.from_email == "notifications@chat.example"
    period = result["period"]
    assert message.subject == (
        f"[chat] Activity digest {period['start']} to {period['end']}: 3 sent, 1 failed, 1 pending"
    )
    text = message.body
    assert "Deliveries: 3 sent, 1 failed, 1 pending, 0 cancelled, 0 skipped." in text
    assert (
        "- member-joined / email: 3 sent, 1 failed, 0 pending, 0 cancelled, 0 skipped; "
        "median 4.0 s, slowest 6.0 s" in text
    )
    assert (
        "- member-joined / realtime: 0 sent, 0 failed, 1 pending, 0 cancelled, 0 skipped; "
        "median -" in text
    )
    assert "- 1 x member-joined / email: 550 <x@chat.example>: no such user" in text
    assert Path(result["file"]).name in text

    html = html_of(message)
    assert '<td class="sent">3</td>' in html
    assert '<td class="failed">1</td>' in html
    assert "<td>member-joined</td><td>email</td>" in html
    assert '<td align="right">4.0 s</td>' in html
    assert ESCAPED_REASON in html  # the reason is text, never markup
    assert "<x@chat.example>" not in html


def test_an_empty_period_says_so(digest_settings: Any) -> None:
    reports.activity_digest()
    [message] = mail.outbox
    assert "No notifications in this period." in message.body
    assert "No failures." in message.body
    assert "Slowest delivery: none sent." in message.body
    assert "<p>No notifications in this period.</p>" in html_of(message)


def test_admins_as_name_and_address_pairs(digest_settings: Any) -> None:
    digest_settings.ADMINS = [("Ops", "ops@chat.example")]
    assert reports.activity_digest()["emailed"] == 1
    assert mail.outbox[0].to == ["ops@chat.example"]


def test_without_admins_the_file_is_still_written(digest_settings: Any) -> None:
    digest_settings.ADMINS = []
    result = reports.activity_digest()
    assert result["emailed"] == 0
    assert mail.outbox == []
    assert Path(result["file"]).is_file()


def test_digest_arrives_over_real_smtp(digest_settings: Any, smtp_server: SmtpServer) -> None:
    some_activity()
    result = reports.activity_digest()

    [received] = smtp_server.messages
    assert sorted(received.envelope_to) == sorted(ADMINS)
    assert received.subject.startswith("[chat] Activity digest ")
    assert received.message.is_multipart()
    parts = {part.get_content_type(): part for part in received.message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Deliveries: 3 sent, 1 failed, 1 pending, 0 cancelled, 0 skipped." in text
    assert ESCAPED_REASON in html
    assert result["emailed"] == 2


def test_smtp_failure_fails_the_digest_after_writing_it(
    digest_settings: Any, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.data_replies.append("554 rejected by policy")
    with pytest.raises(reports.DigestNotSent, match="email to ADMINS: .*554") as raised:
        reports.activity_digest()
    written = list(Path(digest_settings.NOTIFY_TASKS_REPORT_DIR).glob("activity_digest_*.json"))
    assert len(written) == 1
    assert str(written[0]) in str(raised.value)
