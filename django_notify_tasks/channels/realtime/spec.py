"""The ``realtime`` section of a rule: which Centrifugo channels, and what data."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.paths import PLACEHOLDER, PLACEHOLDER_PATH, validate_path
from django_notify_tasks.rules import parse_callable

REALTIME_KEYS = frozenset({"channels", "data"})
LITERAL_NAMESPACE = re.compile(r"^[-a-zA-Z0-9_]{2,}$")


@dataclass(frozen=True)
class RealtimeSpec:
    """Which Centrifugo channels get the notification, and with what data."""

    channels: tuple[str, ...]
    data: Callable[[models.Model, str], Any] | None = None


def parse_realtime_section(
    name: str, spec: Mapping[str, Any], model: type[models.Model]
) -> RealtimeSpec:
    channels = spec.get("channels")
    if isinstance(channels, str):
        channels = [channels]
    if not isinstance(channels, list | tuple) or not channels:
        raise RuleError(
            "E012",
            f"Rule {name!r}: 'realtime.channels' should be a non-empty list, not {channels!r}.",
            'List channel templates such as "chats:{instance.chat_id}".',
        )
    for channel in channels:
        _validate_channel_template(name, channel, model)
    return RealtimeSpec(tuple(channels), parse_callable(name, "realtime.data", spec.get("data")))


def _validate_channel_template(name: str, channel: object, model: type[models.Model]) -> None:
    hint = (
        'Write channels like "chats:{instance.chat_id}" or "personal:#{instance.user_id}": '
        "placeholders are attribute paths on instance, related or notification."
    )
    if not isinstance(channel, str) or not channel:
        raise RuleError("E012", f"Rule {name!r}: channel {channel!r} should be a string.", hint)
    if PLACEHOLDER.sub("", channel).count("{") or PLACEHOLDER.sub("", channel).count("}"):
        raise RuleError("E012", f"Rule {name!r}: channel {channel!r} has unbalanced braces.", hint)
    namespace, colon, _ = channel.partition(":")
    if PLACEHOLDER.search(channel) and (not colon or not LITERAL_NAMESPACE.match(namespace)):
        raise RuleError(
            "E012",
            f"Rule {name!r}: channel {channel!r} should start with a literal namespace "
            '("chats:", "personal:#") before any placeholder.',
            hint,
        )
    for path in PLACEHOLDER.findall(channel):
        if not PLACEHOLDER_PATH.match(path):
            raise RuleError(
                "E012", f"Rule {name!r}: {{{path}}} in channel {channel!r} is not allowed.", hint
            )
        root, _, rest = path.partition(".")
        if root == "instance" and rest:
            validate_path(name, model, rest, check_id="E012")
