"""The periods the dashboard offers, aligned to whole hours or days in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from django_notify_tasks.dashboard.sql import DAY, HOUR


@dataclass(frozen=True)
class Choice:
    key: str
    label: Promise
    buckets: int
    unit: str


CHOICES = {
    choice.key: choice
    for choice in (
        Choice("24h", _("last 24 hours"), 24, HOUR),
        Choice("7d", _("last 7 days"), 7, DAY),
        Choice("30d", _("last 30 days"), 30, DAY),
    )
}
DEFAULT = "24h"
STEP = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
LABEL_FORMAT = {HOUR: "%H:00", DAY: "%b %d"}
KEY_FORMAT = {HOUR: "%Y-%m-%d %H", DAY: "%Y-%m-%d"}


@dataclass(frozen=True)
class DashboardPeriod:
    """``buckets`` whole hours or days up to now: ``[start, end)``, the last one partial."""

    choice: Choice
    start: datetime
    end: datetime

    @property
    def unit(self) -> str:
        return self.choice.unit

    def bucket_starts(self) -> list[datetime]:
        step = STEP[self.unit]
        return [self.start + step * n for n in range(self.choice.buckets)]

    def keys(self) -> list[str]:
        """The buckets as the database names them (``sql.TimeBucket``)."""
        return [moment.strftime(KEY_FORMAT[self.unit]) for moment in self.bucket_starts()]

    def labels(self) -> list[str]:
        return [moment.strftime(LABEL_FORMAT[self.unit]) for moment in self.bucket_starts()]

    def describe(self) -> str:
        """``2026-12-03 18:00 to 2026-12-04 18:00 UTC``, whatever the current time zone."""
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"

    def key_of(self, moment: datetime) -> str:
        return moment.astimezone(dt_timezone.utc).strftime(KEY_FORMAT[self.unit])


def dashboard_period(key: str | None, now: datetime | None = None) -> DashboardPeriod:
    """The period of the ``?period=`` value; an unknown or missing value is the default."""
    choice = CHOICES.get(key or DEFAULT) or CHOICES[DEFAULT]
    now = (now or timezone.now()).astimezone(dt_timezone.utc)
    current = now.replace(minute=0, second=0, microsecond=0)
    if choice.unit == DAY:
        current = current.replace(hour=0)
    start = current - STEP[choice.unit] * (choice.buckets - 1)
    return DashboardPeriod(choice, start, current + STEP[choice.unit])
