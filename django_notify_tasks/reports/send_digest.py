"""Sending a digest: email to ``ADMINS`` and a publication on the staff channel.

Both go through the channels' own sending code: the mailer (or email backend) and the
timeout of ``open_mail_backend``, and ``publish`` (the shared ``cent`` client).
"""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMultiAlternatives

from django_notify_tasks.channels.email.backend import open_mail_backend
from django_notify_tasks.channels.email.content import render_email
from django_notify_tasks.channels.email.spec import EmailSpec
from django_notify_tasks.channels.realtime.publish import publish
from django_notify_tasks.conf import app_settings
from django_notify_tasks.dashboard.digest_charts import digest_charts

DIGEST_TEMPLATE = "django_notify_tasks/email/activity_digest"


def email_digest(digest: dict[str, Any]) -> int:
    """One message, text and HTML, to every admin; how many recipients (0 without ADMINS)."""
    recipients = app_settings.admins
    if not recipients:
        return 0
    spec = EmailSpec(to=(), template=DIGEST_TEMPLATE)
    # The dashboard's bar charts as HTML tables with inline bars (no SVG in mail clients).
    content = render_email(spec, {**digest, "digest": digest, "charts": digest_charts(digest)})
    message = EmailMultiAlternatives(
        subject=app_settings.email_subject_prefix + content.subject,
        body=content.body,
        from_email=app_settings.email_from,
        to=recipients,
    )
    message.attach_alternative(content.html, "text/html")
    with open_mail_backend() as backend:
        backend.send_messages([message])
    return len(recipients)


def digest_channel() -> str | None:
    """The staff channel, or None when realtime is off or the channel is turned off."""
    if not app_settings.centrifugo_api_url:
        return None
    return app_settings.digest_channel or None


def publish_digest(digest: dict[str, Any], idempotency_key: str) -> str | None:
    """Publish the digest on the staff channel; the channel, or None when there is none."""
    channel = digest_channel()
    if channel is None:
        return None
    publish(channel, digest, idempotency_key)
    return channel
