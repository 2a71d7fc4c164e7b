"""Any Django email backend works: console, and a provider's API backend (anymail-style)."""

from __future__ import annotations

import io
import smtplib
from collections.abc import Iterator
from typing import Any, ClassVar

import django
import pytest
from django.core.mail.backends.base import BaseEmailBackend

from django_notify_tasks.models import Delivery
from django_notify_tasks.testing import capture_dispatch, deliver
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db

RULE = {
    "member-joined": {
        "model": "testapp.Membership",
        "on": ["created"],
        "email": {
            "to": ["chat.admin.email"],
            "subject": "{{ instance.user }} joined",
            "body": ".",
        },
    }
}


class ProviderError(Exception):
    """Like django-anymail's AnymailAPIError: the HTTP status of the provider's answer."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProviderConnectionError(ConnectionError):
    """Like anymail's AnymailConnectionError (a requests ConnectionError): no status."""


class ProviderBackend(BaseEmailBackend):
    """An HTTP-API backend: no ``timeout`` attribute, its own exceptions, scripted answers."""

    script: ClassVar[list[Any]] = []  # per send: an exception to raise, or the count to return
    sent: ClassVar[list[Any]] = []

    def send_messages(self, email_messages: Any) -> int:
        answer = self.script.pop(0) if self.script else len(email_messages)
        if isinstance(answer, Exception):
            raise answer
        if answer:
            self.sent.extend(email_messages)
        return int(answer)


def use_backend(settings: Any, path: str) -> None:
    if django.VERSION >= (6, 1):
        settings.MAILERS = {"default": {"BACKEND": path}}
    else:
        settings.EMAIL_BACKEND = path


@pytest.fixture
def provider(settings: Any) -> Iterator[type[ProviderBackend]]:
    use_backend(settings, f"{__name__}.ProviderBackend")
    settings.NOTIFY_TASKS_RULES = RULE
    settings.NOTIFY_TASKS_MAX_RETRIES = 2
    ProviderBackend.script, ProviderBackend.sent = [], []
    yield ProviderBackend


def member_joins(chat: Chat, member: Any) -> Delivery:
    with capture_dispatch():
        Membership.objects.create(chat=chat, user=member)
    [delivery] = deliver()
    return delivery


def test_console_backend_prints_the_message_and_the_delivery_is_sent(
    settings: Any, monkeypatch: Any, chat: Chat, member: Any
) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)  # the console backend writes to sys.stdout
    use_backend(settings, "django.core.mail.backends.console.EmailBackend")
    settings.NOTIFY_TASKS_RULES = RULE
    delivery = member_joins(chat, member)
    assert delivery.status == Delivery.Status.SENT
    assert "Subject: bob joined" in out.getvalue()
    assert f"Message-ID: {delivery.message_id}" in out.getvalue()


def test_provider_api_outage_is_retried_then_sent_once(
    provider: type[ProviderBackend], chat: Chat, member: Any
) -> None:
    provider.script = [ProviderError("Service Unavailable", status_code=503)]
    delivery = member_joins(chat, member)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 2)
    assert [message.to for message in provider.sent] == [["alice@chat.example"]]


@pytest.mark.parametrize(
    "error",
    [ProviderError("Too Many Requests", status_code=429), ProviderConnectionError("reset")],
)
def test_provider_rate_limit_and_lost_connection_are_transient(
    provider: type[ProviderBackend], chat: Chat, member: Any, error: Exception
) -> None:
    provider.script = [error, error, error]  # one more than NOTIFY_TASKS_MAX_RETRIES allows
    delivery = member_joins(chat, member)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 3)
    assert type(error).__name__ in delivery.error
    assert provider.sent == []


def test_provider_rejection_fails_at_once_with_its_reason(
    provider: type[ProviderBackend], chat: Chat, member: Any
) -> None:
    provider.script = [ProviderError("Invalid 'to' address", status_code=400)]
    delivery = member_joins(chat, member)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert delivery.error == "ProviderError: Invalid 'to' address"


def test_a_backend_that_sends_nothing_without_raising_fails_the_delivery(
    provider: type[ProviderBackend], chat: Chat, member: Any
) -> None:
    provider.script = [0]
    delivery = member_joins(chat, member)
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert delivery.error == "ProviderBackend sent nothing: send_messages() returned 0"


def test_smtp_codes_keep_their_meaning_beside_http_statuses() -> None:
    from django_notify_tasks.channels.email.backend import classify
    from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError

    assert isinstance(
        classify(smtplib.SMTPResponseException(451, b"later")), TransientDeliveryError
    )
    assert isinstance(classify(smtplib.SMTPResponseException(550, b"no")), PermanentDeliveryError)
    assert isinstance(classify(ProviderError("x", status_code=500)), TransientDeliveryError)
    assert isinstance(classify(ProviderError("x", status_code=404)), PermanentDeliveryError)
