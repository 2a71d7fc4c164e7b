"""The dashboard's figures on known data: counts per bucket, percentiles, reasons, backlog."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_notify_tasks.dashboard import latency, queries
from django_notify_tasks.dashboard.periods import dashboard_period
from django_notify_tasks.dashboard.reasons import short_reason
from django_notify_tasks.models import Delivery
from tests.support.dashboard_data import delivery_at

NOW = datetime(2026, 12, 4, 17, 35, tzinfo=dt_timezone.utc)
NETWORK = "CentNetworkError: Network error: HTTPConnectionPool(host='127.0.0.1', port={})"


def test_periods_are_whole_utc_hours_or_days_up_to_now() -> None:
    hours = dashboard_period("24h", NOW)
    assert (hours.start, hours.end) == (
        datetime(2026, 12, 3, 18, tzinfo=dt_timezone.utc),
        datetime(2026, 12, 4, 18, tzinfo=dt_timezone.utc),
    )
    assert hours.keys()[0] == "2026-12-03 18" and hours.keys()[-1] == "2026-12-04 17"
    days = dashboard_period("7d", NOW)
    assert days.keys() == [f"2026-11-{d}" for d in range(28, 31)] + [
        f"2026-12-0{d}" for d in range(1, 5)
    ]
    assert dashboard_period("nonsense", NOW).choice.key == "24h"


@pytest.mark.django_db
def test_counts_per_hour_channel_and_status() -> None:
    for _ in range(3):
        delivery_at(NOW - timedelta(minutes=20))
    delivery_at(NOW - timedelta(minutes=30), status="failed", error="SMTPDataError: (554, b'no')")
    delivery_at(NOW - timedelta(hours=3, minutes=10), channel="realtime")
    delivery_at(NOW - timedelta(hours=3, minutes=50), channel="realtime", status="retrying")
    delivery_at(NOW - timedelta(hours=25), status="failed")  # before the period
    delivery_at(NOW + timedelta(hours=1))  # after the hours' period, in the days' last day

    counts = queries.counts_over_time(dashboard_period("24h", NOW))

    assert counts == {
        ("2026-12-04 17", "email", "sent"): 3,
        ("2026-12-04 17", "email", "failed"): 1,
        ("2026-12-04 14", "realtime", "sent"): 1,
        ("2026-12-04 13", "realtime", "retrying"): 1,
    }
    by_day = queries.counts_over_time(dashboard_period("7d", NOW))
    assert by_day[("2026-12-04", "email", "sent")] == 4
    assert by_day[("2026-12-03", "email", "failed")] == 1


@pytest.mark.django_db
def test_percentiles_per_rule_and_channel_from_the_histogram() -> None:
    at = NOW - timedelta(hours=2)
    for n in range(100):  # 0.5 s, 1.5 s ... 99.5 s
        delivery_at(at, delay=n + 0.5)
    for delay in (0.02, 0.12, 0.32):
        delivery_at(at, "chat-renamed", "realtime", delay=delay)
    delivery_at(at, "chat-renamed", "realtime", delay=3600 * 30)  # over a day
    delivery_at(at, "chat-renamed", "realtime", "failed")  # not sent: no delay

    histograms = queries.delay_histograms(dashboard_period("24h", NOW))

    assert list(histograms) == [("chat-renamed", "realtime"), ("member-joined", "email")]
    assert sum(histograms[("member-joined", "email")].values()) == 100
    # Nearest rank: the 50th delay is 49.5 s, in [49, 50); the 95th, 94.5 s, in [90, 100).
    assert latency.percentiles(histograms[("member-joined", "email")]) == {
        50: 50.0,
        95: 100.0,
        99: 100.0,
    }
    # 4 delays: the 2nd (0.12 s) is in [0.10, 0.15); the 4th is over a day.
    assert latency.percentiles(histograms[("chat-renamed", "realtime")]) == {
        50: 0.15,
        95: math.inf,
        99: math.inf,
    }


def test_a_percentile_is_the_upper_edge_of_its_bucket() -> None:
    assert latency.percentiles({}) == {50: None, 95: None, 99: None}
    assert latency.percentiles({0: 1}) == {50: 0.05, 95: 0.05, 99: 0.05}
    assert latency.percentiles({-3: 1}, [50]) == {50: 0.05}  # a negative delay: the first
    assert latency.upper_edge(latency.OVERFLOW - 1) == 86400
    assert latency.upper_edge(latency.OVERFLOW) == math.inf
    # 98 fast and 2 slow: p95 is fast, p99 slow.
    assert latency.percentiles({1: 98, 100: 2}) == {50: 0.1, 95: 0.1, 99: latency.upper_edge(100)}


@pytest.mark.django_db
def test_failure_reasons_are_short_and_grouped() -> None:
    at = NOW - timedelta(hours=1)
    for port in (8000, 8001, 8002):
        delivery_at(at, channel="realtime", status="failed", error=NETWORK.format(port))
    for _ in range(2):
        delivery_at(at, status="failed", error="SMTPRecipientsRefused: {'a@x': (550, b'no')}")
    delivery_at(at, status="failed", error="")
    delivery_at(at, status="retrying", error=NETWORK.format(1))  # not failed (yet)

    reasons = queries.failure_reasons(dashboard_period("24h", NOW))

    assert reasons == [
        queries.Reason("CentNetworkError: Network error", "realtime", 3),
        queries.Reason("SMTPRecipientsRefused", "email", 2),
        queries.Reason("(no reason recorded)", "email", 1),
    ]


def test_short_reason_keeps_the_first_words() -> None:
    assert short_reason("gave up after 9 attempts: TimeoutError: timed out") == (
        "gave up after 9 attempts: TimeoutError"
    )
    assert short_reason("Centrifugo error 102: unknown channel\nmore") == (
        "Centrifugo error 102: unknown channel"
    )
    assert short_reason("x" * 200) == "x" * 79 + "\u2026"


@pytest.mark.django_db
def test_unfinished_now_counts_whatever_the_age() -> None:
    delivery_at(NOW - timedelta(days=40), status="pending")
    delivery_at(NOW - timedelta(hours=1), status="pending")
    delivery_at(NOW - timedelta(hours=2), channel="realtime", status="retrying")
    delivery_at(NOW - timedelta(hours=2), status="sent")

    found = queries.unfinished_now()

    assert found == [
        queries.Unfinished("email", "pending", 2, NOW - timedelta(days=40)),
        queries.Unfinished("realtime", "retrying", 1, NOW - timedelta(hours=2)),
    ]


@pytest.mark.django_db
def test_each_query_is_one_statement() -> None:
    delivery_at(NOW - timedelta(hours=1), status="failed", error="E")
    period = dashboard_period("24h", NOW)
    with CaptureQueriesContext(connection) as captured:
        queries.counts_over_time(period)
        queries.failure_reasons(period)
        queries.delay_histograms(period)
        queries.unfinished_now()
    assert len(captured) == 4


def test_past_the_limit_one_notification_in_a_prime_n_is_measured() -> None:
    assert queries.sample_step(0) == 1
    assert queries.sample_step(50_000) == 1
    assert queries.sample_step(50_001) == 2
    assert queries.sample_step(200_000) == 5
    assert queries.sample_step(1_000_000) == 23  # 20, up to the next prime


@pytest.mark.django_db
def test_a_sample_keeps_every_channel_of_the_notifications_it_takes() -> None:
    at = NOW - timedelta(hours=2)
    notifications = set()
    for n in range(12):
        email = delivery_at(at, delay=n + 0.5)
        notifications.add(email.notification_id)
        Delivery.objects.create(
            notification=email.notification, channel="realtime", target="chats:1",
            status="sent", sent_at=email.sent_at,
        )  # fmt: skip
    Delivery.objects.filter(notification_id__in=notifications).update(created_at=at)

    histograms = queries.delay_histograms(dashboard_period("24h", NOW), every=2)

    taken = sum(1 for pk in notifications if pk % 2 == 0)
    assert sum(histograms[("member-joined", "email")].values()) == taken
    assert sum(histograms[("member-joined", "realtime")].values()) == taken


def test_the_period_is_described_in_utc_whatever_the_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    assert dashboard_period("24h", NOW).describe() == "2026-12-03 18:00 to 2026-12-04 18:00 UTC"
