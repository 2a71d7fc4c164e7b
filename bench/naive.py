"""The naive case of bench/email_throughput.py: one task per email, one SMTP connection each."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail

from tests.testapp.models import Chat


def subject_and_body(chat: Chat) -> tuple[str, str]:
    """The same text as the bench rule renders, for every case."""
    return (
        f"New chat: {chat.title}",
        f"Hello {chat.admin.username}, your chat {chat.title} is open.",
    )


@shared_task(name="bench.naive_send", ignore_result=True)
def naive_send(chat_id: int) -> None:
    """What a project writes without a package: load the row, send_mail() (a new connection)."""
    chat = Chat.objects.select_related("admin").get(pk=chat_id)
    subject, body = subject_and_body(chat)
    send_mail(subject, body, None, [chat.admin.email])
