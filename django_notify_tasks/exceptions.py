"""The package's exceptions, all under one root."""

from __future__ import annotations


class NotifyTasksError(Exception):
    """Root of every error raised by django-notify-tasks."""


class RuleError(NotifyTasksError, ValueError):
    """A rule in ``NOTIFY_TASKS_RULES`` cannot be used as written."""

    def __init__(self, check_id: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.check_id = check_id
        self.message = message
        self.hint = hint


class UnsafePathError(NotifyTasksError, ValueError):
    """A rule's path would read a private attribute or call a method that alters data."""


class DeliveryError(NotifyTasksError):
    """A delivery could not be sent: one of the two kinds below, which say whether to retry."""


class PermanentDeliveryError(DeliveryError):
    """A delivery can never succeed as it is (bad address, template error, 5xx): no retry."""


class TransientDeliveryError(DeliveryError):
    """A delivery failed for a reason that may pass (timeout, 4xx, connection lost): retry."""


class DeliveryFailed(NotifyTasksError):
    """Raised at the end of a task whose deliveries failed, so Celery records FAILURE."""


class ChannelNotFound(NotifyTasksError, LookupError):
    """No channel of that name is installed (``NOTIFY_TASKS_CHANNELS``)."""


class UnknownRuleError(NotifyTasksError, LookupError):
    """``notify()`` was given a rule name that is not in ``NOTIFY_TASKS_RULES``."""
