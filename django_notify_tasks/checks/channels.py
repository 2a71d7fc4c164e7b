"""Checks of the installed channels: those that cannot be loaded (E020), and each channel's
own checks of its settings (``Channel.check``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from django_notify_tasks.channels import all_channels, channel_problems
from django_notify_tasks.checks.ids import PREFIX


def check_channels(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Channels named in ``NOTIFY_TASKS_CHANNELS`` that cannot be used, and every channel's
    checks."""
    messages: list[CheckMessage] = [
        Error(
            f"NOTIFY_TASKS_CHANNELS: {problem}.",
            hint="Give the dotted path of a subclass of "
            "django_notify_tasks.channels.Channel that sets a unique 'name'.",
            id=f"{PREFIX}.E020",
        )
        for problem in channel_problems()
    ]
    for channel in all_channels():
        messages += channel.check()
    return messages
