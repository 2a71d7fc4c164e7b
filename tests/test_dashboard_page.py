"""The dashboard page: staff only, its charts and tables, a query count that stays put."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_user
from tests.support.dashboard_data import delivery_at

pytestmark = pytest.mark.django_db
URL = "/notifications/dashboard/"


def test_the_url_is_named() -> None:
    assert reverse("django_notify_tasks:dashboard") == URL


def test_anonymous_users_are_sent_to_the_admin_login(client: Any) -> None:
    page = client.get(URL, {"period": "7d"})
    assert page.status_code == 302
    assert page["Location"] == "/admin/login/?next=/notifications/dashboard/%3Fperiod%3D7d"


def test_users_who_are_not_staff_get_403(client: Any) -> None:
    client.force_login(make_user("pat"))
    assert client.get(URL).status_code == 403


def test_staff_see_charts_with_their_numbers(staff_client: Any) -> None:
    now = timezone.now()
    for delay in (0.62, 1.62, 2.62):  # in the middle of buckets: float error cannot move them
        delivery_at(now - timedelta(minutes=1), delay=delay)
    delivery_at(now - timedelta(minutes=1), channel="realtime", status="failed", error="E: x")
    delivery_at(now - timedelta(minutes=1), status="retrying")

    page = staff_client.get(URL)

    assert page.status_code == 200
    html = page.content.decode()
    # email, realtime, reasons, delays; no user counts file
    assert html.count('<svg viewBox="0 0 640') == 4
    assert 'id="chart-deliveries-email"' in html and "<title>" in html
    dashboard = page.context["dashboard"]
    assert dashboard.totals["all"] == 5 and dashboard.totals["sent"] == 3
    assert dashboard.reasons.rows == [["E: x", "realtime", "1"]]
    # The 2nd of 3 delays (1.62 s) is in [1.5, 1.75): p50 1.75 s; p95 and p99 the 3rd's edge.
    assert dashboard.delays.rows == [["member-joined", "email", "3", "1.75 s", "2.75 s", "2.75 s"]]
    assert 'id="delay-sample"' not in html
    assert "<td>retrying</td><td>1</td>" in html
    assert "NOTIFY_TASKS_REPORT_DIR is not set." in html


def test_user_counts_come_from_the_report_file(
    staff_client: Any, settings: Any, tmp_path: Path
) -> None:
    settings.NOTIFY_TASKS_REPORT_DIR = str(tmp_path)
    now = timezone.now()
    lines = ["timestamp,total_users,active_users,joined_24h,staff_users"]
    for hours, total in [(30, 5), (3, 10), (2, 11), (1, 12)]:
        moment = (now - timedelta(hours=hours)).isoformat(timespec="seconds")
        lines.append(f"{moment},{total},{total - 1},1,1")
    (tmp_path / "user_counts.csv").write_text("\n".join(lines) + "\n")

    page = staff_client.get(URL)

    users = page.context["dashboard"].users
    assert [row[1:] for row in users.rows] == [
        ["10", "9", "1"],
        ["11", "10", "1"],
        ["12", "11", "1"],
    ]
    assert len(users.lines) == 3


def test_the_query_count_does_not_grow_with_the_rows(staff_client: Any) -> None:
    now = timezone.now()

    def queries_of_one_load() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(URL, {"period": "7d"}).status_code == 200
        return len(captured)

    delivery_at(now - timedelta(hours=1), status="failed", error="A")
    few = queries_of_one_load()
    for n in range(60):
        status = ["sent", "failed", "retrying", "pending"][n % 4]
        delivery_at(now - timedelta(hours=n), f"rule-{n % 5}", ["email", "realtime"][n % 2],
                    status, delay=n, error=f"Error{n % 7}: details {n}")  # fmt: skip
    assert queries_of_one_load() == few


def test_the_admin_lists_link_to_the_dashboard(admin_client: Any) -> None:
    for model in ("delivery", "notification"):
        page = admin_client.get(reverse(f"admin:django_notify_tasks_{model}_changelist"))
        assert f'href="{URL}"' in page.content.decode()


def test_the_page_says_when_delays_are_sampled(staff_client: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("django_notify_tasks.dashboard.queries.MAX_DELAY_ROWS", 2)
    for _ in range(5):
        delivery_at(timezone.now() - timedelta(minutes=1))

    html = staff_client.get(URL).content.decode()

    assert "Measured on the sent deliveries of one notification in 3 (by id)" in html
