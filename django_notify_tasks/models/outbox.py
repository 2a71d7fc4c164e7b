"""The outbox: one Notification row per matched event, and the lease of the relay that
hands them to the broker."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One matched event: written in the host's transaction, processed by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSED = "processed", _("processed")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    rule = models.CharField(_("rule"), max_length=100, db_index=True)
    event = models.CharField(_("event"), max_length=20)
    model = models.CharField(_("model"), max_length=100, help_text=_("app_label.model_name"))
    object_pk = models.CharField(_("object pk"), max_length=64)
    related_model = models.CharField(_("related model"), max_length=100, blank=True)
    related_pk = models.CharField(_("related pk"), max_length=64, blank=True)
    snapshot = models.JSONField(_("snapshot"), default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    error = models.TextField(_("error"), blank=True)
    dispatch_count = models.PositiveIntegerField(_("re-dispatches"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(_("last re-dispatched at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # Which processing run holds the pending row (notification_claims): runs that take
    # several notifications at once never take the same one.
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True, editable=False)
    # Processing runs that took the row (notification_claims): a row runs keep stopping on
    # fails with the reason instead of holding back the others for ever.
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="notify_tasks_n_status_idx"),
            # The relay's poll (relay.hand_off): the rows not handed over yet, in id order,
            # without reading every pending row that is (a backlog's worth, ten times a second).
            models.Index(fields=["dispatched_at", "status"], name="notify_tasks_n_relay_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} #{self.pk} ({self.event} {self.model}:{self.object_pk})"

    @property
    def stamp(self) -> str:
        """The id plus the creation time: unique across databases and database resets, where
        the id alone repeats (mail clients drop a Message-ID they have seen before)."""
        return f"{self.pk}.{int(self.created_at.timestamp() * 1_000_000):x}"


class RelayLease(models.Model):
    """Which worker's outbox relay is the active one, until when (databases other than
    PostgreSQL, where an advisory lock does it)."""

    name = models.CharField(_("name"), max_length=100, primary_key=True)
    holder = models.CharField(_("holder"), max_length=200)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("relay lease")
        verbose_name_plural = _("relay leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"
