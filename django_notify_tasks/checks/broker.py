"""Check of the host's broker settings: a Redis broker without socket timeouts (W011)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning

from django_notify_tasks.checks.ids import PREFIX
from django_notify_tasks.conf import app_settings

SOCKET_TIMEOUTS = ("socket_timeout", "socket_connect_timeout")


def check_broker(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W011: Redis transport options leave socket waits unbounded for the host's own calls."""
    if not app_settings.celery_broker_url.startswith(("redis://", "rediss://")):
        return []
    options = app_settings.broker_transport_options
    missing = [name for name in SOCKET_TIMEOUTS if options.get(name) is None]
    if not missing:
        return []
    return [
        Warning(
            f"CELERY_BROKER_TRANSPORT_OPTIONS should set {' and '.join(missing)}: without "
            "them a Redis that accepts connections and never answers blocks every .delay() "
            "of your own, in requests too, for as long as it stays that way.",
            hint="Add e.g. {'socket_timeout': 5, 'socket_connect_timeout': 5}. The "
            "package's own publishes are bounded already (NOTIFY_TASKS_BROKER_TIMEOUT).",
            id=f"{PREFIX}.W011",
        )
    ]
