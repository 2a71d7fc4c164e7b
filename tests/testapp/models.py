"""A small chat domain, the same shape as the example project's."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Chat(models.Model):
    title = models.CharField(max_length=200)
    topic = models.CharField(max_length=200, blank=True)
    admin = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="chats", blank=True
    )

    def __str__(self) -> str:
        return self.title


class Membership(models.Model):
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="member")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chat", "user"], name="one_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.chat}"


class ModeratorMembership(Membership):
    """A proxy: saving through it is the same Membership event."""

    class Meta:
        proxy = True
