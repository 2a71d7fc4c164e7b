"""The in-app channel: a rule's ``inapp`` section becomes one inbox item per user, read
through the inbox endpoints, with a live unread count over the personal channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models

from django_notify_tasks.channels.base import Channel, OnError, OnSent, known_names
from django_notify_tasks.channels.email.recipients import path_names, prefetch_relations
from django_notify_tasks.channels.inapp import content, store
from django_notify_tasks.channels.inapp.build import build_inapp_rows
from django_notify_tasks.channels.inapp.spec import INAPP_KEYS, InappSpec, parse_inapp_section
from django_notify_tasks.models import Delivery, Notification

__all__ = ["InappChannel", "InappSpec"]


class InappChannel(Channel):
    name = "inapp"
    batch_size = 1000  # one INSERT and one count query per batch
    coalesce = True  # a run stores other notifications' waiting items in the same INSERT
    section_keys = INAPP_KEYS

    def parse_section(
        self, rule: str, section: Mapping[str, Any], model: type[models.Model]
    ) -> InappSpec:
        return parse_inapp_section(rule, section, model)

    def instance_names(self, spec: InappSpec) -> frozenset[str] | None:
        return known_names(path_names(spec), content.instance_names(spec))

    def section_problems(self, rule: str, spec: InappSpec) -> list[str]:
        return [f"the inapp {problem}" for problem in content.template_problems(spec)]

    def prefetch(self, spec: InappSpec, instances: list[models.Model]) -> None:
        prefetch_relations(spec, instances)

    def build_deliveries(
        self,
        spec: InappSpec,
        notification: Notification,
        instance: models.Model,
        context: dict[str, Any],
    ) -> list[Delivery]:
        """One row per distinct active user (target ``user #<pk>``)."""
        return build_inapp_rows(self, spec, notification, instance, context)

    def send(self, deliveries: Sequence[Delivery], on_sent: OnSent, on_error: OnError) -> None:
        store.store_items(deliveries, on_sent, on_error)
