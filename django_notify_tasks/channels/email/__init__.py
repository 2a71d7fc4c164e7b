"""The email channel: a rule's ``email`` section becomes one message per distinct address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.checks import CheckMessage
from django.db import models

from django_notify_tasks.channels.base import Channel, OnError, OnSent, known_names
from django_notify_tasks.channels.email import backend, checks, connections, content, recipients
from django_notify_tasks.channels.email.build import build_email_rows
from django_notify_tasks.channels.email.digests import send_due_digests
from django_notify_tasks.channels.email.hold import hold_for_digests
from django_notify_tasks.channels.email.spec import EMAIL_KEYS, EmailSpec, parse_email_section
from django_notify_tasks.exceptions import DeliveryError
from django_notify_tasks.models import Delivery, Notification

__all__ = ["EmailChannel", "EmailSpec"]


class EmailChannel(Channel):
    name = "email"
    task_name = "django_notify_tasks.deliver_email"
    batch_size = 100
    coalesce = True  # one SMTP connection then carries many notifications' messages
    section_keys = EMAIL_KEYS

    def parse_section(
        self, rule: str, section: Mapping[str, Any], model: type[models.Model]
    ) -> EmailSpec:
        return parse_email_section(rule, section, model)

    def instance_names(self, spec: EmailSpec) -> frozenset[str] | None:
        attachments = None if spec.message.attachments else frozenset[str]()
        return known_names(recipients.path_names(spec), content.instance_names(spec), attachments)

    def section_problems(self, rule: str, spec: EmailSpec) -> list[str]:
        return [f"the email {problem}" for problem in content.template_problems(spec)]

    def check(self) -> list[CheckMessage]:
        return checks.check_mailer()

    def prefetch(self, spec: EmailSpec, instances: list[models.Model]) -> None:
        recipients.prefetch_relations(spec, instances)

    def build_deliveries(
        self,
        spec: EmailSpec,
        notification: Notification,
        instance: models.Model,
        context: dict[str, Any],
    ) -> list[Delivery]:
        """One row per distinct address; problems become failed rows, users not sent to
        skipped ones."""
        return build_email_rows(self, spec, notification, instance, context)

    def hold(self, rows: Sequence[Delivery], using: str) -> None:
        hold_for_digests(rows, using)

    def send_digests(self, using: str) -> list[int]:
        return send_due_digests(self.name, using)

    def send(self, deliveries: Sequence[Delivery], on_sent: OnSent, on_error: OnError) -> None:
        connections.send_each(deliveries, on_sent, on_error)

    def classify(self, exc: Exception) -> DeliveryError:
        return exc if isinstance(exc, DeliveryError) else backend.classify(exc)

    def sent_fields(self, delivery: Delivery) -> dict[str, str]:
        return {"message_id": backend.message_id(delivery)}
