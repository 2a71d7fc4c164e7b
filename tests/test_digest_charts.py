"""The activity digest drawn with the dashboard's charts: its numbers in tables, not JSON."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from django_notify_tasks.dashboard.digest_charts import digest_charts

DIGEST: dict[str, Any] = {
    "report": "activity_digest",
    "period": {"start": "2026-12-03T18:00:00+00:00", "end": "2026-12-04T18:00:00+00:00"},
    "totals": {"sent": 3, "failed": 3, "pending": 2, "cancelled": 1, "skipped": 1},
    "rules": [
        {
            "rule": "chat-renamed",
            "channel": "email",
            "sent": 0,
            "failed": 0,
            "pending": 1,
            "cancelled": 0,
            "skipped": 0,
            "median_seconds": None,
            "slowest_seconds": None,
        },
        {
            "rule": "member-joined",
            "channel": "email",
            "sent": 3,
            "failed": 3,
            "pending": 1,
            "cancelled": 1,
            "skipped": 1,
            "median_seconds": 4.0,
            "slowest_seconds": 10.0,
        },
    ],  # fmt: skip
    "top_failures": [
        {"rule": "member-joined", "channel": "email", "reason": "SMTP 550", "count": 2},
    ],
    "new_users": 2,
}


def test_the_digest_becomes_three_charts_with_their_numbers() -> None:
    deliveries, times, failures = digest_charts(DIGEST)

    assert deliveries.columns == ["rule", "channel", "sent", "failed", "pending", "skipped",
                                  "cancelled"]  # fmt: skip
    assert deliveries.rows == [
        ["chat-renamed", "email", "0", "0", "1", "0", "0"],
        ["member-joined", "email", "3", "3", "1", "1", "1"],
    ]
    assert times.rows == [["member-joined", "email", "4 s", "10 s"]]  # nothing sent: no row
    assert failures.rows == [["SMTP 550", "member-joined \u00b7 email", "2"]]


def test_the_digest_template_shows_tables_and_no_json() -> None:
    html = render_to_string(
        "django_notify_tasks/digest.html", {"digest": DIGEST, "charts": digest_charts(DIGEST)}
    )
    assert html.count("<table>") == 3 and html.count("<svg") == 3
    assert '<th scope="row">member-joined</th><td>email</td><td>3</td>' in html
    assert '"report"' not in html


def test_the_email_draws_bars_as_html_with_inline_styles() -> None:
    deliveries = digest_charts(DIGEST)[0]

    html = render_to_string("django_notify_tasks/charts/email_bars.html", {"chart": deliveries})

    # The axis ends at 5 (the next 1, 2, 5 step above 3): 3 sent is 60% of it.
    assert "background: #2e7d32; width: 60%" in html
    assert "<svg" not in html
    assert "sent 3, failed 3, pending 1, skipped 1, cancelled 1" in html


def test_the_digest_email_carries_the_bars(settings: Any) -> None:
    from django.core import mail

    from django_notify_tasks.reports.send_digest import email_digest

    settings.ADMINS = ["ops@chat.example"]
    assert email_digest({**DIGEST, "file": "activity_digest_x.json"}) == 1
    [(html, _)] = mail.outbox[0].alternatives
    assert "Deliveries by rule and channel" in str(html) and "width: 60%" in str(html)
