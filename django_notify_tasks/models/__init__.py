"""The package's models, one module per concern; imported from here by everything else."""

from django_notify_tasks.models.deliveries import Delivery, DeliveryContent
from django_notify_tasks.models.inbox import Digest, InboxItem
from django_notify_tasks.models.outbox import Notification, RelayLease
from django_notify_tasks.models.people import Preference
from django_notify_tasks.models.rollups import (
    DailyDelay,
    HourlyCount,
    HourlyDelay,
    HourlyFailure,
    RolledHour,
)

__all__ = [
    "DailyDelay",
    "Delivery",
    "DeliveryContent",
    "Digest",
    "HourlyCount",
    "HourlyDelay",
    "HourlyFailure",
    "InboxItem",
    "Notification",
    "Preference",
    "RelayLease",
    "RolledHour",
]
