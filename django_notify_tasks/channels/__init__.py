"""The channel registry: the built-in channels and those named in ``NOTIFY_TASKS_CHANNELS``.

Channels are loaded by dotted path, so the worker-side modules depend on the interface in
``channels.base`` only, and a project's channel needs no change to the package.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.module_loading import import_string

from django_notify_tasks.channels.base import Channel
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import ChannelNotFound

__all__ = ["BUILTIN", "Channel", "all_channels", "channel_problems", "get_channel"]

# In send order: realtime first (one request, and what people watch as it happens), then
# the inbox (one INSERT), then email (a connection per batch).
BUILTIN = (
    "django_notify_tasks.channels.realtime.RealtimeChannel",
    "django_notify_tasks.channels.inapp.InappChannel",
    "django_notify_tasks.channels.email.EmailChannel",
)


@dataclass(frozen=True)
class Registry:
    channels: dict[str, Channel]
    problems: list[str]


_cache: tuple[object, Registry] | None = None


def _registry() -> Registry:
    """Load the channels once per value of the setting (read live, like every setting)."""
    global _cache
    extra = app_settings.channels
    if _cache is None or _cache[0] is not extra:
        _cache = (extra, _load(extra))
    return _cache[1]


def _load(extra: object) -> Registry:
    paths = list(BUILTIN)
    problems = []
    if isinstance(extra, list | tuple) and all(isinstance(path, str) for path in extra):
        paths += list(extra)
    else:
        problems.append(f"NOTIFY_TASKS_CHANNELS should be a list of dotted paths, not {extra!r}")
    channels: dict[str, Channel] = {}
    for path in paths:
        try:
            cls = import_string(path)
            channel = cls()
        except Exception as exc:  # reported by the check (E020), never at import
            problems.append(f"{path!r} cannot be loaded ({type(exc).__name__}: {exc})")
            continue
        if not isinstance(channel, Channel) or not getattr(channel, "name", ""):
            problems.append(f"{path!r} should be a Channel subclass with a name")
        elif channel.name in channels:
            problems.append(f"{path!r} has the name {channel.name!r} of another channel")
        else:
            channels[channel.name] = channel
    return Registry(channels, problems)


def all_channels() -> list[Channel]:
    """Every installed channel, in send order."""
    return list(_registry().channels.values())


def get_channel(name: str) -> Channel:
    """The channel called ``name``, or ``ChannelNotFound``."""
    try:
        return _registry().channels[name]
    except KeyError:
        raise ChannelNotFound(
            f"No channel {name!r}: add its class to NOTIFY_TASKS_CHANNELS."
        ) from None


def channel_problems() -> list[str]:
    """Why a channel named in ``NOTIFY_TASKS_CHANNELS`` is not installed, for the check."""
    return _registry().problems
