"""The realtime channel: a rule's ``realtime`` section becomes one Centrifugo publication per
distinct channel, sent as a broadcast where they share a payload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage
from django.db import models

from django_notify_tasks.channels.base import Channel, OnError, OnSent
from django_notify_tasks.channels.realtime import checks, names, payload, publish
from django_notify_tasks.channels.realtime.spec import (
    REALTIME_KEYS,
    RealtimeSpec,
    parse_realtime_section,
)
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import DeliveryError, PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification

__all__ = ["RealtimeChannel", "RealtimeSpec"]


class RealtimeChannel(Channel):
    name = "realtime"
    task_name = "django_notify_tasks.publish_realtime"
    batch_size = 1000  # one broadcast request per 500 channels that share a payload
    section_keys = REALTIME_KEYS
    reaches_users = False  # a publication to a channel, for whoever subscribed to it

    def parse_section(
        self, rule: str, section: Mapping[str, Any], model: type[models.Model]
    ) -> RealtimeSpec:
        return parse_realtime_section(rule, section, model)

    def check(self) -> list[CheckMessage]:
        return [*checks.check_extra(), *checks.check_realtime(), *checks.check_tokens()]

    def enabled(self) -> bool:
        return bool(app_settings.centrifugo_api_url)  # None: realtime off

    def build_deliveries(
        self,
        spec: RealtimeSpec,
        notification: Notification,
        instance: models.Model,
        context: dict[str, Any],
    ) -> list[Delivery]:
        """One row per distinct channel; problems become failed rows."""
        try:
            data = payload.encode_payload(spec, notification, instance)
        except PermanentDeliveryError as exc:
            return [self.failed(notification, "(all channels)", str(exc))]
        rows: dict[str, Delivery] = {}
        for template in spec.channels:
            try:
                channel = names.render_channel(template, context)
            except PermanentDeliveryError as exc:
                rows.setdefault(template, self.failed(notification, template, str(exc)))
                continue
            rows.setdefault(channel, self.delivery(notification, channel, body=data))
        return list(rows.values())

    def send(self, deliveries: Sequence[Delivery], on_sent: OnSent, on_error: OnError) -> None:
        publish.publish_each(deliveries, on_sent, on_error)

    def classify(self, exc: Exception) -> DeliveryError:
        return publish.classify(exc)
