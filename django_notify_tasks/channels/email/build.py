"""The rows of one notification's email: who it goes to, and what each person reads.

Templates that name ``recipient`` or ``unsubscribe_url`` are rendered once per recipient;
others once per language among the recipients (once, for most notifications).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from django_notify_tasks.channels.base import Channel
from django_notify_tasks.channels.email.content import render_email, uses_recipient
from django_notify_tasks.channels.email.options import stored_options
from django_notify_tasks.channels.email.recipients import resolve_recipients, to_recipient
from django_notify_tasks.channels.email.spec import EmailSpec
from django_notify_tasks.channels.rendering import People, Renderings, Rows, resolve_people
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.opt_out import OptOut
from django_notify_tasks.people import NotReachable, Recipient
from django_notify_tasks.preferences.tokens import ONE_CLICK, unsubscribe_url
from django_notify_tasks.rules import current_rules


def build_email_rows(
    channel: Channel,
    spec: EmailSpec,
    notification: Notification,
    instance: models.Model,
    context: dict[str, Any],
) -> list[Delivery]:
    """One row per distinct address; unreachable users skipped, problems failed rows."""
    rows, people = _resolve(channel, spec, notification, instance)
    cap = spec.max_recipients or app_settings.max_recipients
    if len(people) > cap:
        reason = (
            f"{len(people)} recipients, more than the cap of {cap} (the rule's "
            "'max_recipients', or NOTIFY_TASKS_MAX_RECIPIENTS): nothing was sent"
        )
        return [channel.failed(notification, "(recipients)", reason)]
    rule = current_rules().rules.get(notification.rule)
    opt_out = rule.opt_out if rule is not None else OptOut()
    per_recipient = uses_recipient(spec)
    renderings = Renderings(lambda ctx: render_email(spec, ctx), context, per_recipient)
    for key, person in people.items():
        link = _unsubscribe_link(opt_out, person, notification.rule, channel.name)
        rendered = renderings.for_person(key, person, unsubscribe_url=link)
        if isinstance(rendered, PermanentDeliveryError):
            # A rendering shared by all fails for all: one row says so, as before.
            # A recipient's own placeholder is None until now: replace it, or the row is lost.
            target = person.address if per_recipient else "(all recipients)"
            if rows.get(target.lower()) is None:
                rows[target.lower()] = channel.failed(notification, target, str(rendered))
            continue
        try:
            options = stored_options(spec.message, instance, person)
        except PermanentDeliveryError as exc:
            rows[key] = channel.failed(notification, person.address, str(exc))
            continue
        if link:
            unsubscribe = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK}
            options["headers"] = {**options.get("headers", {}), **unsubscribe}
        rows[key] = channel.delivery(
            notification,
            person.address,
            user=person.user,
            options=options,
            subject=rendered.subject,
            body=rendered.body,
            html=rendered.html,
        )
    return [row for row in rows.values() if row is not None]


def _resolve(
    channel: Channel, spec: EmailSpec, notification: Notification, instance: models.Model
) -> tuple[Rows, People]:
    """Rows decided already (skipped, failed), and the people to render for, by address."""

    def take(entry: str, value: Any, rows: Rows, people: People) -> None:
        try:
            person = to_recipient(value)
        except NotReachable as exc:
            skipped = channel.skipped(notification, exc.target, exc.reason, user=exc.user)
            rows.setdefault(exc.target.lower(), skipped)
            return
        except PermanentDeliveryError as exc:
            rows.setdefault(entry, channel.failed(notification, entry, str(exc)))
            return
        key = person.address.lower()
        earlier = people.get(key)
        if key not in rows or (earlier and earlier.user is None and person.user):
            rows[key] = None  # filled in once rendered, in resolution order
            people[key] = person  # a user beats a bare address: preferences, links

    return resolve_people(channel, notification, resolve_recipients(spec, instance), take)


def _unsubscribe_link(opt_out: OptOut, person: Recipient, rule: str, channel: str) -> str:
    if not opt_out.allowed or person.user is None:
        return ""  # transactional mail, or a bare address: no one to turn it off for
    return unsubscribe_url(person.user, rule, channel)
