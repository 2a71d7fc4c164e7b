"""The rows of one notification's inbox items: one per active user, rendered in their language.

Templates that name ``recipient`` are rendered once per user; others once per language.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from django_notify_tasks.channels.base import Channel
from django_notify_tasks.channels.email.recipients import resolve_recipients
from django_notify_tasks.channels.inapp.content import render_item, uses_recipient
from django_notify_tasks.channels.inapp.spec import InappSpec
from django_notify_tasks.channels.rendering import People, Renderings, Rows, resolve_people
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.people import Recipient, is_user, user_address


def user_target(user_id: object) -> str:
    """``Delivery.target`` of a user's item: one row per user and notification."""
    return f"user #{user_id}"


def build_inapp_rows(
    channel: Channel,
    spec: InappSpec,
    notification: Notification,
    instance: models.Model,
    context: dict[str, Any],
) -> list[Delivery]:
    """One pending row per distinct active user; inactive users skipped, problems failed."""
    rows, people = _resolve(channel, spec, notification, instance)
    per_recipient = uses_recipient(spec)
    renderings = Renderings(lambda ctx: render_item(spec, ctx), context, per_recipient)
    for target, person in people.items():
        rendered = renderings.for_person(target, person, unsubscribe_url="")
        if isinstance(rendered, PermanentDeliveryError):
            # A shared rendering fails for all, in one row; a recipient's own rendering fails
            # their placeholder row (None until now), which must be replaced, not kept.
            shared = target if per_recipient else "(all recipients)"
            if rows.get(shared) is None:
                rows[shared] = channel.failed(notification, shared, str(rendered))
            continue
        rows[target] = channel.delivery(
            notification,
            target,
            user=person.user,
            options={"url": rendered.url} if rendered.url else {},
            subject=rendered.title,
            body=rendered.body,
        )
    return [row for row in rows.values() if row is not None]


def _resolve(
    channel: Channel, spec: InappSpec, notification: Notification, instance: models.Model
) -> tuple[Rows, People]:
    """Rows decided already (failed, skipped), and the users to render for, by target."""

    def take(entry: str, value: Any, rows: Rows, people: People) -> None:
        if not is_user(value):
            reason = f"the inbox is for users; {entry!r} resolved to {value!r}"
            rows.setdefault(entry, channel.failed(notification, entry, reason))
            return
        target = user_target(value.pk)
        if not getattr(value, "is_active", True):  # custom user models may lack it
            skipped = channel.skipped(notification, target, "the user is inactive", value)
            rows.setdefault(target, skipped)
        elif target not in rows:
            rows[target] = None  # filled in once rendered, in resolution order
            people[target] = Recipient(user_address(value), value)

    return resolve_people(channel, notification, resolve_recipients(spec, instance), take)
