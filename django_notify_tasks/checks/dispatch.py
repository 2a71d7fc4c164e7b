"""Checks of how saves reach the broker: the dispatch mode (E031) and the relay's interval
against the sweeper's (W015)."""

from __future__ import annotations

from numbers import Real
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings

DISPATCH_MODES = ("relay", "on_commit")


def check_dispatch(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``NOTIFY_TASKS_DISPATCH`` is a known mode; the relay looks more often than the sweeper."""
    mode = app_settings.dispatch
    if mode not in DISPATCH_MODES:
        return [
            Error(
                f"NOTIFY_TASKS_DISPATCH should be 'relay' or 'on_commit', not {mode!r}.",
                hint="Set NOTIFY_TASKS_DISPATCH = 'relay' (the default) or 'on_commit'.",
                id=f"{PREFIX}.E031",
            )
        ]
    interval, after = app_settings.relay_interval, app_settings.redispatch_after
    numbers = all(isinstance(v, Real) and not isinstance(v, bool) for v in (interval, after))
    if mode == "relay" and numbers and interval >= after:
        return [
            Warning(
                f"NOTIFY_TASKS_RELAY_INTERVAL should be less than NOTIFY_TASKS_REDISPATCH_AFTER "
                f"({interval!r} >= {after!r}): the sweeper would re-send rows the relay has "
                "not looked at yet.",
                hint="Lower NOTIFY_TASKS_RELAY_INTERVAL (a fraction of a second is usual).",
                id=f"{PREFIX}.W015",
            )
        ]
    return []
