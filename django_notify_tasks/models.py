"""The outbox (Notification) and the delivery log (Delivery)."""

from __future__ import annotations

from django.conf import settings
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
        indexes = [models.Index(fields=["status", "created_at"], name="notify_tasks_n_status_idx")]

    def __str__(self) -> str:
        return f"{self.rule} #{self.pk} ({self.event} {self.model}:{self.object_pk})"

    @property
    def stamp(self) -> str:
        """The id plus the creation time: unique across databases and database resets, where
        the id alone repeats (mail clients drop a Message-ID they have seen before)."""
        return f"{self.pk}.{int(self.created_at.timestamp() * 1_000_000):x}"


class Delivery(models.Model):
    """One message to one target over one channel; its row is the claim and the log."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        REALTIME = "realtime", _("realtime")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        RETRYING = "retrying", _("retrying")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")
        # Never sent, on purpose: an inactive user, no address, the user opted out.
        SKIPPED = "skipped", _("skipped")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    target = models.CharField(_("target"), max_length=255)
    # The person behind the target, when the rule resolved to a user (preferences, admin).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    subject = models.TextField(_("subject"), blank=True)
    body = models.TextField(_("body"), blank=True)
    html = models.TextField(_("HTML body"), blank=True)
    # What the channel's sender adds to the message, fixed when the row is made so that a
    # retry sends the same (email: headers such as List-Unsubscribe, reply_to, cc, bcc).
    options = models.JSONField(_("options"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    claim_token = models.CharField(
        _("claim token"), max_length=32, blank=True, editable=False, db_index=True
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel", "target"], name="notify_tasks_one_per_target"
            )
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="notify_tasks_d_status_idx"),
            # The dashboard (dashboard/queries.py): counts of a period by channel and status
            # from the index alone, and a status's rows of a period (failed, sent, unfinished).
            models.Index(
                fields=["created_at", "channel", "status"], name="notify_tasks_d_created_idx"
            ),
            models.Index(fields=["status", "created_at"], name="notify_tasks_d_st_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"


class Preference(models.Model):
    """Whether a user gets one channel of one opt-out rule; no row: the rule's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    rule = models.CharField(_("rule"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20)
    enabled = models.BooleanField(_("enabled"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user", "rule", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "rule", "channel"], name="notify_tasks_one_preference"
            )
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.user} {self.rule}/{self.channel}: {state}"
