"""The delivery log: one Delivery row per message and target, and the content it sends,
stored once per distinct rendering (DeliveryContent)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router
from django.utils.translation import gettext_lazy as _

from django_notify_tasks.models.outbox import Notification

CONTENT_PARTS = ("subject", "body", "html")


def content_digest(parts: dict[str, str]) -> str:
    """The key of a content: equal parts, equal digest."""
    text = "\x00".join(parts.get(name, "") for name in CONTENT_PARTS)
    return hashlib.sha256(text.encode()).hexdigest()


EMPTY = content_digest({})  # a content with no parts is stored as none


class ContentManager(models.Manager["DeliveryContent"]):
    def attach(self, deliveries: Iterable[Delivery], using: str) -> None:
        """Point each delivery with pending content at its content row: one SELECT, and an
        INSERT and a SELECT for contents not stored yet, per call (a processing batch)."""
        waiting = [row for row in deliveries if row.pending_content is not None]
        by_digest = {content_digest(row.pending_content or {}): row for row in waiting}
        by_digest.pop(EMPTY, None)
        found = self._ids(by_digest, using)
        missing = [
            DeliveryContent(digest=digest, **(by_digest[digest].pending_content or {}))
            for digest in by_digest
            if digest not in found
        ]
        if missing:  # two runs may race to insert one: the second's is ignored, then read
            self.using(using).bulk_create(missing, ignore_conflicts=True, batch_size=500)
            found |= self._ids({content.digest: None for content in missing}, using)
        for row in waiting:
            row.content_id = found.get(content_digest(row.pending_content or {}))
            row.__dict__.pop("_pending_content")

    def _ids(self, digests: Iterable[str], using: str) -> dict[str, int]:
        wanted = list(digests)
        rows = self.using(using).filter(digest__in=wanted).values_list("digest", "pk")
        return dict(rows) if wanted else {}


class DeliveryContent(models.Model):
    """What a message says, stored once for every delivery that says the same: a fan-out
    to 10,000 readers of one rendering is one row of content, not 10,000 copies."""

    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    subject = models.TextField(_("subject"), blank=True)
    body = models.TextField(_("body"), blank=True)
    html = models.TextField(_("HTML body"), blank=True)

    objects = ContentManager()

    class Meta:
        verbose_name = _("delivery content")
        verbose_name_plural = _("delivery contents")

    def __str__(self) -> str:
        return self.subject or self.body[:60]


class Delivery(models.Model):
    """One message to one target over one channel; its row is the claim and the log.

    ``subject``, ``body`` and ``html`` read and write its ``content`` (shared with every
    delivery that says the same); written, they wait on the instance until it is saved,
    or until ``contents.attach_contents`` finds their row for a batch.
    """

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
    content = models.ForeignKey(
        DeliveryContent,
        verbose_name=_("content"),
        on_delete=models.PROTECT,  # purge_old deletes contents no delivery uses any more
        null=True,
        blank=True,
        related_name="+",
    )
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
            # The dashboard (dashboard/queries.py): counts of a period by channel and status
            # from the index alone, and a status's rows of a period (failed, sent, unfinished).
            models.Index(
                fields=["created_at", "channel", "status"], name="notify_tasks_d_created_idx"
            ),
            models.Index(fields=["status", "created_at"], name="notify_tasks_d_st_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pending_content is not None:
            using = kwargs.get("using") or router.db_for_write(Delivery, instance=self)
            DeliveryContent.objects.attach([self], using)
        super().save(*args, **kwargs)

    @property
    def subject(self) -> str:
        return self._content_part("subject")

    @subject.setter
    def subject(self, value: str) -> None:
        self._set_content_part("subject", value)

    @property
    def body(self) -> str:
        return self._content_part("body")

    @body.setter
    def body(self, value: str) -> None:
        self._set_content_part("body", value)

    @property
    def html(self) -> str:
        return self._content_part("html")

    @html.setter
    def html(self, value: str) -> None:
        self._set_content_part("html", value)

    @property
    def pending_content(self) -> dict[str, str] | None:
        """Content written on this instance and not stored yet, or None."""
        return self.__dict__.get("_pending_content")

    def _content_part(self, name: str) -> str:
        pending = self.pending_content
        if pending is not None:
            return pending[name]
        return str(getattr(self.content, name)) if self.content_id else ""

    def _set_content_part(self, name: str, value: str) -> None:
        if self.pending_content is None:
            self.__dict__["_pending_content"] = {
                part: self._content_part(part) for part in CONTENT_PARTS
            }
        self.__dict__["_pending_content"][name] = value or ""


# Work not done yet: purge_old keeps it, the dashboard and the digest count it as waiting.
UNFINISHED_DELIVERIES = [
    Delivery.Status.PENDING,
    Delivery.Status.SENDING,
    Delivery.Status.RETRYING,
    Delivery.Status.HELD,  # waits for its digest
]
