from django.conf import settings
from django.db import models


class Chat(models.Model):
    title = models.CharField(max_length=200)
    admin = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="administered_chats"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="chats", blank=True
    )

    def __str__(self) -> str:
        return self.title


class Membership(models.Model):
    """Creating one emails the chat's admin (rule "member-joined" in settings)."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chat", "user"], name="one_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.chat}"
