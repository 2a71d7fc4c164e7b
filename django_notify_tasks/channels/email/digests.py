"""Sending digests: each user's held rows that are due, as one message, once per window.

Exactly one digest per user per window: the digest's rows are written in one transaction
with a ``Digest`` row unique per user and window end (the latest due time among its rows),
and the held rows move to ``digested`` only if every one of them is still held. A second
worker or beat tick for the same user and window fails the constraint or finds the rows
gone, and its transaction rolls back whole. The digest itself is an ordinary email
``Delivery``: claimed, sent, retried and swept like any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from django_notify_tasks.models import Delivery, Digest, Notification
from django_notify_tasks.people import language_for

DIGEST_RULE = "notify-tasks-digest"  # Notification.rule of a digest
USERS_PER_RUN = 500
TEMPLATE = "django_notify_tasks/email/user_digest"
ORPHANED = "not sent: the user was deleted before their digest"


class _Raced(Exception):
    """Another run took some of the rows first."""


def send_due_digests(channel: str, using: str, now: datetime | None = None) -> list[int]:
    """Make the digest of every user with held rows due by ``now``; their delivery ids."""
    now = now or timezone.now()
    held = Delivery.objects.using(using).filter(status=Delivery.Status.HELD, channel=channel)
    # A deleted user's rows lost their user (SET_NULL): no digest can carry them any more.
    held.filter(user__isnull=True).update(
        status=Delivery.Status.SKIPPED, error=ORPHANED, updated_at=now
    )
    due = held.filter(due_at__lte=now, user__isnull=False)
    users = list(due.order_by().values_list("user_id", flat=True).distinct()[:USERS_PER_RUN])
    made = (_digest(due.filter(user_id=user_id), channel, using, now) for user_id in users)
    return [pk for pk in made if pk is not None]


def _digest(held: Any, channel: str, using: str, now: datetime) -> int | None:
    rows = list(held.select_related("notification", "user", "content").order_by("pk"))
    if not rows or rows[0].user is None:
        return None
    user, ids = rows[0].user, [row.pk for row in rows]
    window = max(row.due_at for row in rows)
    subject, body = _render(user, rows)
    try:
        with transaction.atomic(using=using):
            notification = Notification.objects.using(using).create(
                rule=DIGEST_RULE, event="digest", model=user._meta.label_lower,
                object_pk=str(user.pk), status=Notification.Status.PROCESSED, processed_at=now,
            )  # fmt: skip
            Digest.objects.using(using).create(
                user=user, window_end=window, notification=notification, items=len(rows)
            )
            moved = Delivery.objects.using(using).filter(pk__in=ids, status=Delivery.Status.HELD)
            if moved.update(
                status=Delivery.Status.DIGESTED,
                error=f"sent in digest notification #{notification.pk}",
                updated_at=now,
            ) != len(ids):
                raise _Raced
            digest = Delivery(
                notification=notification, channel=channel, target=rows[0].target, user=user
            )
            digest.subject, digest.body = subject, body
            digest.save(using=using)
    except (IntegrityError, _Raced):
        # This window's digest exists: rows still held (a clock behind) go to the next one.
        Delivery.objects.using(using).filter(pk__in=ids, status=Delivery.Status.HELD).update(
            due_at=window + timedelta(minutes=1)
        )
        return None
    return digest.pk


def _render(user: Any, rows: list[Delivery]) -> tuple[str, str]:
    context = {"user": user, "items": rows}
    with translation.override(language_for(user)):
        subject = render_to_string(f"{TEMPLATE}_subject.txt", context)
        body = render_to_string(f"{TEMPLATE}.txt", context)
    return " ".join(subject.split()), body
