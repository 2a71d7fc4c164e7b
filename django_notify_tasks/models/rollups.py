"""The dashboard's figures per hour, rolled up from the delivery log (dashboard/rollup.py).

A month is 720 hours: the dashboard reads a few thousand of these rows for 30 days instead
of every delivery. Each rolled hour is recomputed whole and its rows replaced, so a run
can be repeated; ``RolledHour.rolled_at`` says when, for the deliveries changed since.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RolledHour(models.Model):
    """An hour (UTC, by its start) rolled up into HourlyCount, HourlyFailure, HourlyDelay."""

    hour = models.DateTimeField(_("hour"), unique=True)
    rolled_at = models.DateTimeField(_("rolled up at"))

    class Meta:
        verbose_name = _("rolled-up hour")
        verbose_name_plural = _("rolled-up hours")

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00"


class HourlyCount(models.Model):
    """The deliveries made in an hour, per channel and status."""

    hour = models.DateTimeField(_("hour"))
    channel = models.CharField(_("channel"), max_length=20)
    status = models.CharField(_("status"), max_length=20)
    count = models.PositiveIntegerField(_("deliveries"))

    class Meta:
        verbose_name = _("hourly delivery count")
        verbose_name_plural = _("hourly delivery counts")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "channel", "status"], name="notify_tasks_hourly_count"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.channel} {self.status}: {self.count}"


class HourlyFailure(models.Model):
    """The failed deliveries made in an hour, per channel and short reason."""

    hour = models.DateTimeField(_("hour"))
    channel = models.CharField(_("channel"), max_length=20)
    reason = models.CharField(_("reason"), max_length=100)
    count = models.PositiveIntegerField(_("deliveries"))

    class Meta:
        verbose_name = _("hourly failure count")
        verbose_name_plural = _("hourly failure counts")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "channel", "reason"], name="notify_tasks_hourly_failure"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.channel} {self.reason}: {self.count}"


class HourlyDelay(models.Model):
    """The sent deliveries made in an hour, per rule, channel and delay bucket
    (dashboard/latency.py): every one of them, no sample."""

    hour = models.DateTimeField(_("hour"))
    rule = models.CharField(_("rule"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20)
    bucket = models.IntegerField(_("delay bucket"))
    count = models.PositiveIntegerField(_("deliveries"))

    class Meta:
        verbose_name = _("hourly delay count")
        verbose_name_plural = _("hourly delay counts")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "rule", "channel", "bucket"], name="notify_tasks_hourly_delay"
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.rule} {self.channel} {self.bucket}: {self.count}"


class DailyDelay(models.Model):
    """HourlyDelay summed per day (UTC), so a month's delays are 30 days of rows."""

    day = models.DateTimeField(_("day"))
    rule = models.CharField(_("rule"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20)
    bucket = models.IntegerField(_("delay bucket"))
    count = models.PositiveIntegerField(_("deliveries"))

    class Meta:
        verbose_name = _("daily delay count")
        verbose_name_plural = _("daily delay counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "rule", "channel", "bucket"], name="notify_tasks_daily_delay"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.rule} {self.channel} {self.bucket}: {self.count}"
