"""``{% notify_tasks_realtime_config %}``: what a page needs to connect to Centrifugo."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from django_notify_tasks.channels.realtime import tokens
from django_notify_tasks.conf import app_settings
from django_notify_tasks.reports.send_digest import digest_channel

register = template.Library()


@register.simple_tag(takes_context=True)
def notify_tasks_realtime_config(
    context: dict[str, Any], element_id: str = "notify-tasks-realtime"
) -> SafeString:
    """A ``<script type="application/json">`` with the WebSocket URL, token URLs and channels."""
    request = context.get("request")
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated and getattr(user, "is_staff", False))
    config = {
        "wsUrl": app_settings.centrifugo_ws_url,
        "connectionTokenUrl": reverse("django_notify_tasks:connection-token"),
        "subscriptionTokenUrl": reverse("django_notify_tasks:subscription-token"),
        "personalChannel": tokens.personal_channel(user)
        if user and user.is_authenticated
        else None,
        # Staff may read the digest channel: the digest, and the live progress of its runs.
        "digestChannel": digest_channel() if staff else None,
    }
    return json_script(config, element_id)
