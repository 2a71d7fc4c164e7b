"""App configuration: load settings, register checks, connect receivers, register the tasks."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class NotifyTasksConfig(AppConfig):
    name = "django_notify_tasks"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # conf puts the defaults on settings; tasks registers the shared tasks, which the
        # package then queues by name (dispatch.enqueue), in web processes too.
        from django_notify_tasks import conf, relay, signals, tasks  # noqa: F401
        from django_notify_tasks.checks.registry import register_checks

        register_checks()
        signals.connect_receivers()
        relay.connect_worker_signals()  # a worker starts its outbox relay (relay.py)
        setting_changed.connect(on_setting_changed, dispatch_uid="django_notify_tasks.rules")


def on_setting_changed(setting: str, **kwargs: Any) -> None:
    """Reconnect receivers when a test overrides the rules or the channels."""
    if setting in ("NOTIFY_TASKS_RULES", "NOTIFY_TASKS_CHANNELS"):
        from django_notify_tasks.signals import connect_receivers

        connect_receivers()
