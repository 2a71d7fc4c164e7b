"""The mail backend deliveries go through: opening it with a timeout, the message of one
delivery with its deterministic Message-ID, sending it, and classifying what went wrong."""

from __future__ import annotations

import contextlib
import smtplib
from typing import Any

import django
from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME

from django_notify_tasks.channels.email.options import apply_options
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery


def open_mail_backend(mailer: str | None = None) -> BaseEmailBackend:
    """The configured email backend, never without a timeout.

    Django 6.1+: ``mailers[NOTIFY_TASKS_MAILER]`` (``get_connection()`` is deprecated there);
    a mailer configured without a timeout gets ``NOTIFY_TASKS_EMAIL_TIMEOUT`` instead of none.
    Older Django: ``get_connection(timeout=NOTIFY_TASKS_EMAIL_TIMEOUT)``. ``mailer``: a
    rule's own alias (``email.mailer``, Django 6.1+), instead of ``NOTIFY_TASKS_MAILER``.
    """
    if django.VERSION < (6, 1):
        return get_connection(fail_silently=False, timeout=app_settings.email_timeout)
    from django.core.mail import mailers  # type: ignore[attr-defined, unused-ignore]

    backend: BaseEmailBackend = mailers[mailer or app_settings.mailer]
    if getattr(backend, "timeout", "no such attribute") is None:
        # An SMTP mailer without a timeout would wait forever on a silent server.
        backend.timeout = app_settings.email_timeout  # type: ignore[attr-defined]
    return backend


class NotificationMessage(EmailMultiAlternatives):
    """Django 6 backends render messages with ``email.policy.SMTP``, which turns a header
    longer than 78 characters that it cannot fold (a List-Unsubscribe URL) into RFC 2047
    encoded words, which mail providers do not read as a URL. Headers may run to RFC 5322's
    998 characters instead."""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        policy = kwargs.get("policy")
        if policy is not None:  # Django 6.0+
            kwargs["policy"] = policy.clone(max_line_length=998)
        return super().message(*args, **kwargs)


def build_message(delivery: Delivery) -> EmailMultiAlternatives:
    """The message for one delivery, with a Message-ID that is the same on every attempt,
    and what the row's ``options`` add (``headers``: List-Unsubscribe on opt-out rules)."""
    options = delivery.options or {}
    message = NotificationMessage(
        subject=delivery.subject,
        body=delivery.body,
        from_email=app_settings.email_from,
        to=[delivery.target],
        headers={**options.get("headers", {}), "Message-ID": message_id(delivery)},
    )
    apply_options(message, options)
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    return message


def message_id(delivery: Delivery) -> str:
    """Deterministic, so a resend after a crash can be recognised as the same message."""
    sender = app_settings.email_from
    domain = sender.rpartition("@")[2].strip("> ") if "@" in sender else str(DNS_NAME)
    return f"<notify-tasks.{delivery.notification.stamp}.{delivery.pk}@{domain}>"


def send_message(backend: BaseEmailBackend, delivery: Delivery) -> None:
    """Send one delivery's message; raise Transient- or PermanentDeliveryError on failure."""
    try:
        backend.open()
        sent = backend.send_messages([build_message(delivery)])
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        error = classify(exc)
        if isinstance(error, TransientDeliveryError):
            close_quietly(backend)  # the next message gets a fresh connection
        raise error from exc
    if sent == 0:  # the backend dropped it without raising; None means it does not count
        raise PermanentDeliveryError(
            f"{type(backend).__name__} sent nothing: send_messages() returned 0"
        )


RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})  # and every 5xx


def classify(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Transient: timeouts, lost connections, SMTP 4xx, HTTP 408/429/5xx from a provider's
    API. Permanent: SMTP 5xx, other HTTP 4xx and everything else."""
    reason = f"{type(exc).__name__}: {exc}"
    status = http_status(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = any(400 <= code < 500 for code in codes)
    elif isinstance(exc, smtplib.SMTPResponseException):
        transient = exc.smtp_code < 500
    elif status is not None:  # before OSError: requests' HTTPError is one
        transient = status in RETRYABLE_HTTP_STATUSES or status >= 500
    else:
        transient = isinstance(exc, OSError | smtplib.SMTPServerDisconnected)
    return TransientDeliveryError(reason) if transient else PermanentDeliveryError(reason)


def http_status(exc: Exception) -> int | None:
    """The HTTP status an API backend's error carries (django-anymail's ``status_code``,
    requests' ``response.status_code``), or None."""
    for value in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def close_quietly(backend: BaseEmailBackend) -> None:
    with contextlib.suppress(Exception):  # the connection is being dropped anyway
        backend.close()
