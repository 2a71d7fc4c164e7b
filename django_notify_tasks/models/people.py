"""Users' preferences: which channels of which opt-out rules they get."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
