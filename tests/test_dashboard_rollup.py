"""The dashboard's hourly rollup gives the figures the delivery log gives, whatever changed
since it ran, and keeps the counts of the hours purge_old deletes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_notify_tasks.dashboard import queries, rolled
from django_notify_tasks.dashboard.periods import CHOICES, dashboard_period
from django_notify_tasks.dashboard.rollup import hour_of, roll_up
from django_notify_tasks.models import DailyDelay, Delivery, HourlyCount, HourlyDelay, RolledHour
from django_notify_tasks.reports import purge_old
from tests.support.dashboard_data import delivery_at

pytestmark = pytest.mark.django_db

RULES = ["member-joined", "chat-renamed", "invite-sent"]
STATUSES = ["sent", "sent", "failed", "retrying", "pending", "skipped", "sent"]
ERRORS = [
    "CentNetworkError: Network error: HTTPConnectionPool(host='127.0.0.1', port={})",
    "SMTPRecipientsRefused: {{'u{}@x': (550, b'no')}}",
    "gave up after 9 attempts: TimeoutError: timed out {}",
]


def history(now: datetime, days: int = 30) -> None:
    """Deliveries every 5 hours or so over ``days`` days, of every rule, channel, status,
    reason and a spread of delays; last touched when they were made, as old rows are."""
    for n, hours in enumerate(range(0, days * 24, 5)):
        status = STATUSES[n % len(STATUSES)]
        error = ERRORS[n % 3].format(n) if status in ("failed", "retrying") else ""
        at = now - timedelta(hours=hours, minutes=n % 60)
        channel = ["email", "realtime"][n % 2]
        delivery_at(at, RULES[n % 3], channel, status, delay=0.2 + n % 40, error=error)
    Delivery.objects.update(updated_at=F("created_at"))


def from_the_log(key: str, now: datetime) -> tuple[Any, ...]:
    period = dashboard_period(key, now)
    return (
        queries.counts_over_time(period),
        queries.failure_reasons(period),
        queries.delay_histograms(period),
    )


def on_the_dashboard(key: str, now: datetime) -> tuple[Any, ...]:
    """The page's figures (page.build_dashboard), before they become charts."""
    where = rolled.split(dashboard_period(key, now))
    counts = rolled.counts(where, queries.bucket_counts(where.live_rows(), where.period.unit))
    return counts, rolled.failure_reasons(where), rolled.delay_histograms(where)


def test_the_rolled_figures_are_the_logs_for_every_period() -> None:
    now = timezone.now()
    history(now)

    oldest = Delivery.objects.order_by("created_at").first()
    assert oldest is not None

    rolled_hours = roll_up(now)

    settled = hour_of(now) - timedelta(hours=1)
    assert rolled_hours == (settled - hour_of(oldest.created_at)) // timedelta(hours=1)
    assert HourlyCount.objects.exists() and HourlyDelay.objects.exists()
    for key in CHOICES:
        where = rolled.split(dashboard_period(key, now))
        # Read from the rollup up to the settle horizon (one hour), not from the log.
        assert where.live_from == hour_of(now) - timedelta(hours=1)
        assert where.changed == []
        assert on_the_dashboard(key, now) == from_the_log(key, now), key


def test_a_status_that_changes_after_its_hour_was_rolled_is_counted_as_it_is_now() -> None:
    now = timezone.now()
    history(now, days=3)
    roll_up(now)
    old = Delivery.objects.filter(status="retrying", created_at__lt=now - timedelta(hours=30))
    changed = old.order_by("pk").first()
    assert changed is not None
    # What deliveries.record_failure writes: the status, the reason, the time of the change.
    Delivery.objects.filter(pk=changed.pk).update(
        status="failed", error="gave up after 9 attempts: boom", updated_at=timezone.now()
    )

    where = rolled.split(dashboard_period("7d", now))
    assert where.changed == [hour_of(changed.created_at)]
    for key in CHOICES:
        assert on_the_dashboard(key, now) == from_the_log(key, now), key

    roll_up(now)  # beat's next run replaces the hour's rows
    hour = HourlyCount.objects.filter(hour=hour_of(changed.created_at), status="failed")
    assert hour.aggregate(n=Sum("count"))["n"] >= 1
    for key in CHOICES:
        assert on_the_dashboard(key, now) == from_the_log(key, now), key


def test_deliveries_made_in_an_hour_already_rolled_are_counted() -> None:
    now = timezone.now()
    history(now, days=2)
    roll_up(now)
    delivery_at(now - timedelta(hours=20), "late-import", "email", "sent", delay=3)

    assert on_the_dashboard("24h", now) == from_the_log("24h", now)
    assert ("late-import", "email") in on_the_dashboard("24h", now)[2]


def test_a_second_run_changes_nothing() -> None:
    now = timezone.now()
    history(now, days=2)
    roll_up(now)
    first = sorted(HourlyCount.objects.values_list("hour", "channel", "status", "count"))
    hours = RolledHour.objects.count()

    assert roll_up(now) == 0  # nothing settled since, nothing changed
    assert sorted(HourlyCount.objects.values_list("hour", "channel", "status", "count")) == first
    assert RolledHour.objects.count() == hours


def test_purged_hours_keep_their_counts_on_the_dashboard(settings: Any) -> None:
    settings.NOTIFY_TASKS_RETENTION_DAYS = 7
    now = timezone.now()
    history(now, days=20)
    before = on_the_dashboard("30d", now)

    purge_old()  # rolls up first, then deletes what is older than 7 days

    purged = Delivery.objects.filter(status="sent", created_at__lt=now - timedelta(days=8))
    assert not purged.exists()
    assert from_the_log("30d", now) != before  # the log lost them ...
    assert on_the_dashboard("30d", now) == before  # ... the dashboard did not


def test_the_query_count_does_not_grow_with_rolled_or_changed_rows() -> None:
    now = timezone.now()

    def queries_of_one_load() -> int:
        with CaptureQueriesContext(connection) as captured:
            on_the_dashboard("30d", now)
        return len(captured)

    history(now, days=2)
    roll_up(now)
    few = queries_of_one_load()
    history(now, days=30)
    roll_up(now)
    Delivery.objects.filter(created_at__lt=now - timedelta(days=3)).update(
        status="failed", updated_at=timezone.now()
    )  # changed after they were rolled: read from the log
    assert len(rolled.split(dashboard_period("30d", now)).changed) > 100
    assert queries_of_one_load() == few == 9


def test_a_cancel_from_the_admin_after_the_rollup_is_counted_as_cancelled() -> None:
    from django_notify_tasks.models import Notification
    from django_notify_tasks.operations import cancel

    now = timezone.now()
    history(now, days=3)
    roll_up(now)
    waiting = Delivery.objects.filter(status="pending", created_at__lt=now - timedelta(hours=30))
    assert waiting.exists()

    cancel(Notification.objects.filter(deliveries__in=waiting))

    for key in CHOICES:
        assert on_the_dashboard(key, now) == from_the_log(key, now), key


def test_rolled_rows_past_the_longest_period_and_the_retention_are_deleted() -> None:
    now = timezone.now()
    history(now, days=2)
    roll_up(now)
    assert HourlyCount.objects.exists() and DailyDelay.objects.exists()

    roll_up(now + timedelta(days=40))  # every delivery is now older than 31 days

    assert not HourlyCount.objects.exists() and not DailyDelay.objects.exists()
    assert not RolledHour.objects.filter(hour__lt=now + timedelta(days=8)).exists()
