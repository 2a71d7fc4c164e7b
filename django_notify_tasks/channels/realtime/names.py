"""Centrifugo channel names: filled in from a rule's templates, and checked as the server would."""

from __future__ import annotations

import re
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.paths import PLACEHOLDER, resolve_path

NAMESPACE = re.compile(r"^[-a-zA-Z0-9_]{2,}$")
# What a placeholder may put into a channel name: none of Centrifugo's separators (":" ends
# the namespace, "#" starts the users who may read it, "," separates them, "$" marked
# private channels), so a value can never reach another namespace or another user's channel.
PLACEHOLDER_VALUE = re.compile(r"^[-A-Za-z0-9_.@=+]+$")
MAX_CHANNEL_LENGTH = 255


def render_channel(template: str, context: dict[str, Any]) -> str:
    """Fill ``{instance.attr}`` placeholders and check the result is a valid channel name."""

    def fill(match: re.Match[str]) -> str:
        root, _, path = match.group(1).partition(".")
        values = resolve_path(context[root], path) if path else [context[root]]
        if len(values) != 1 or values[0] is None:
            raise PermanentDeliveryError(
                f"channel {template!r}: {{{match.group(1)}}} gave {values!r}, not one value"
            )
        text = str(values[0])
        if not text:  # "personal:#" passes as a channel name, but it names no user
            raise PermanentDeliveryError(f"channel {template!r}: {{{match.group(1)}}} is empty")
        if not PLACEHOLDER_VALUE.match(text):
            raise PermanentDeliveryError(
                f"channel {template!r}: {{{match.group(1)}}} gave {text[:40]!r}, which has "
                "characters other than letters, digits and -_.@=+ (a separator such as "
                "':', '#' or ',' would change which channel or users it names)"
            )
        return text

    try:
        channel = PLACEHOLDER.sub(fill, template)
    except (PermanentDeliveryError, SoftTimeLimitExceeded):
        raise
    except Exception as exc:  # a property on the path may raise anything
        raise PermanentDeliveryError(f"channel {template!r}: {type(exc).__name__}: {exc}") from exc
    check_channel(channel)
    return channel


def check_channel(channel: str) -> None:
    """Reject names Centrifugo would reject: empty, too long, non-ASCII, bad namespace."""
    if not channel:
        raise PermanentDeliveryError("the channel name is empty")
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise PermanentDeliveryError(f"channel {channel[:40]!r}... is longer than 255 characters")
    if not channel.isascii():
        raise PermanentDeliveryError(f"channel {channel!r} is not ASCII")
    namespace, colon, _ = channel.partition(":")
    if colon and not NAMESPACE.match(namespace):
        raise PermanentDeliveryError(f"channel {channel!r} has an invalid namespace {namespace!r}")
