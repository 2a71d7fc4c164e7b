"""App configuration: load settings, register checks, connect receivers."""

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
        from django.core import checks as django_checks

        from django_notify_tasks import checks, conf, signals  # noqa: F401 - conf sets defaults
        from django_notify_tasks.reports import checks as report_checks

        django_checks.register(checks.check_settings)
        django_checks.register(checks.check_rules)
        django_checks.register(checks.check_realtime)
        django_checks.register(checks.check_beat)
        django_checks.register(checks.check_mailer)
        django_checks.register(report_checks.check_reports)
        signals.connect_receivers()
        setting_changed.connect(on_setting_changed, dispatch_uid="django_notify_tasks.rules")


def on_setting_changed(setting: str, **kwargs: Any) -> None:
    """Reconnect receivers when a test overrides ``NOTIFY_TASKS_RULES``."""
    if setting == "NOTIFY_TASKS_RULES":
        from django_notify_tasks.signals import connect_receivers

        connect_receivers()
