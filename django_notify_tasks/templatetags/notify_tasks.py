"""``{% notify_tasks_realtime_config %}``: what a page needs to connect to Centrifugo;
``{% notify_tasks_inbox_bell %}``: a link with the user's unread count, kept live by
``realtime.js``."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

from django_notify_tasks.channels.realtime import tokens
from django_notify_tasks.conf import app_settings
from django_notify_tasks.inbox import unread_count
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


@register.simple_tag(takes_context=True)
def notify_tasks_inbox_bell(context: dict[str, Any], href: str | None = None) -> SafeString:
    """A link to ``href`` (default: the inbox endpoint) with the unread count, rendered with
    the page; ``NotifyTasksRealtime.inbox`` updates it live. Nothing for anonymous users."""
    user = getattr(context.get("request"), "user", None)
    if not (user and user.is_authenticated):
        return SafeString("")
    unread = unread_count(user)
    inbox = reverse("django_notify_tasks:inbox")
    return format_html(
        '<a class="notify-tasks-bell" href="{}" data-notify-tasks-inbox="{}" '
        'data-notify-tasks-read="{}" data-unread="{}">'
        '<span aria-hidden="true">&#128276;</span> '
        '<span class="notify-tasks-unread"{}>{}</span></a>',
        href or inbox,
        inbox,
        reverse("django_notify_tasks:inbox-read"),
        unread,
        SafeString("") if unread else SafeString(" hidden"),
        unread,
    )
