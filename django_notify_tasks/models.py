"""The outbox (Notification), the delivery log (Delivery), preferences, and the in-app inbox."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
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
        INAPP = "inapp", _("in-app")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        RETRYING = "retrying", _("retrying")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")
        # Never sent, on purpose: an inactive user, no address, the user opted out.
        SKIPPED = "skipped", _("skipped")
        # Waiting for the user's next digest (their choice, or past the rule's throttle).
        HELD = "held", _("held for a digest")
        # Sent as one item of a digest: the digest's own row is the message.
        DIGESTED = "digested", _("sent in a digest")

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
    # A held row goes into the first digest sent at or after this time (docs/inbox.md).
    due_at = models.DateTimeField(_("digest due at"), null=True, blank=True)

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
            models.Index(fields=["status", "due_at"], name="notify_tasks_d_due_idx"),
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


class InboxItem(models.Model):
    """One notification in one user's in-app inbox (the ``inapp`` channel)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_inbox",
    )
    # Kept when the notification is purged first: the item has its own retention.
    notification = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.CharField(_("rule"), max_length=100)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("URL"), max_length=2000, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["-pk"]
        constraints = [
            # A delivery sent twice (a worker killed after the INSERT) stores one item.
            models.UniqueConstraint(
                fields=["notification", "user"], name="notify_tasks_one_item_per_user"
            )
        ]
        indexes = [
            # A page of a user's items, newest first, from a cursor (the id).
            models.Index(fields=["user", "id"], name="notify_tasks_inbox_page_idx"),
            # The unread count, and a page of unread items.
            models.Index(fields=["user", "read_at", "id"], name="notify_tasks_inbox_unread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (to {self.user})"


class Digest(models.Model):
    """One digest email to one user: at most one per user per window end (the claim)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    window_end = models.DateTimeField(_("window end"))
    # The digest's own notification, whose one email delivery is the message.
    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="digest"
    )
    items = models.PositiveIntegerField(_("items"), default=0)

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "window_end"], name="notify_tasks_one_digest")
        ]

    def __str__(self) -> str:
        return f"digest of {self.items} to {self.user} ({self.window_end:%Y-%m-%d %H:%M})"


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
