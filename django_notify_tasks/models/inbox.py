"""The in-app inbox and the per-user digests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_notify_tasks.models.outbox import Notification


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
