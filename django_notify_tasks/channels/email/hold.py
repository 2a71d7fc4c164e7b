"""Rows that wait for the user's digest instead of going out now: the rule's digest (or the
user's choice of it), and mail past the rule's throttle, which is folded, never dropped.

Called on a processing batch's rows before they are written, with two queries at most
(the users' digest choices, the recent counts for throttles), whatever the batch holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from django_notify_tasks.channels.email.spec import EmailSpec
from django_notify_tasks.models import Delivery, Preference
from django_notify_tasks.preferences.digest_choices import digest_key
from django_notify_tasks.rules import current_rules

SENT_ONE_BY_ONE = [
    Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING,
    Delivery.Status.SENT,
]  # fmt: skip


def window_end(now: datetime, every: int) -> datetime:
    """The end of the ``every``-second window ``now`` is in, windows aligned on the epoch."""
    return datetime.fromtimestamp((int(now.timestamp()) // every + 1) * every, dt.timezone.utc)


def hold_for_digests(rows: Sequence[Delivery], using: str) -> None:
    """Turn pending rows that should wait for a digest into ``held`` rows with their due time."""
    rules = current_rules().rules
    now = timezone.now()
    candidates: list[tuple[Delivery, EmailSpec]] = []
    for row in rows:
        rule = rules.get(row.notification.rule)
        spec = rule.sections.get(row.channel) if rule else None
        waits = isinstance(spec, EmailSpec) and (spec.digest or spec.throttle)
        if row.status == Delivery.Status.PENDING and row.user_id and waits:
            candidates.append((row, spec))  # type: ignore[arg-type]
    if not candidates:
        return
    choices = _digest_choices(candidates, using)
    for row, spec in candidates:
        if spec.digest and choices.get(
            (row.user_id, row.notification.rule, digest_key(row.channel)),
            spec.digest.default_digest,
        ):
            _hold(
                row,
                window_end(now, spec.digest.every),
                f"held for the digest (every {spec.digest.every} s)",
            )
    throttled = [(row, spec) for row, spec in candidates
                 if spec.throttle and row.status == Delivery.Status.PENDING]  # fmt: skip
    counts = _recent_counts(throttled, using, now)
    for row, spec in throttled:
        assert spec.throttle is not None
        key = (row.user_id, row.notification.rule)
        if counts.get(key, 0) >= spec.throttle.max:
            every = spec.digest.every if spec.digest else spec.throttle.per
            reason = (f"held for the digest: over the throttle of {spec.throttle.max} "
                      f"per {spec.throttle.per} s")  # fmt: skip
            _hold(row, window_end(now, every), reason)
        else:
            counts[key] = counts.get(key, 0) + 1


def _hold(row: Delivery, due: datetime, reason: str) -> None:
    row.status, row.due_at, row.error = Delivery.Status.HELD, due, reason


def _digest_choices(candidates: list[tuple[Delivery, EmailSpec]], using: str) -> dict[Any, bool]:
    asked = [(row, spec) for row, spec in candidates if spec.digest and spec.digest.choosable]
    if not asked:
        return {}
    wanted = Q()
    for row, _ in asked:
        key = digest_key(row.channel)
        wanted |= Q(user_id=row.user_id, rule=row.notification.rule, channel=key)
    stored = Preference.objects.using(using).filter(wanted)
    return {(user, rule, key): on for user, rule, key, on in stored.values_list(
        "user_id", "rule", "channel", "enabled")}  # fmt: skip


def _recent_counts(
    throttled: list[tuple[Delivery, EmailSpec]], using: str, now: datetime
) -> dict[Any, int]:
    """Mail of each (user, rule) sent, or on its way, one by one within the throttle's window."""
    if not throttled:
        return {}
    recent = Q()
    for row, spec in throttled:
        assert spec.throttle is not None
        since = now - timedelta(seconds=spec.throttle.per)
        recent |= Q(
            user_id=row.user_id, notification__rule=row.notification.rule, created_at__gte=since
        )
    rows = (
        Delivery.objects.using(using)
        .filter(recent, channel=throttled[0][0].channel, status__in=SENT_ONE_BY_ONE)
        .values("user_id", "notification__rule")
        .annotate(sent=Count("id"))
        .order_by()
    )
    return {(row["user_id"], row["notification__rule"]): row["sent"] for row in rows}
