"""The live unread count: each new item, and each mark-as-read, publishes the user's new
count (and the item) to their personal channel, when realtime is on.

Best effort by design: the item is stored whatever Centrifugo does, and a page reads the
count from the inbox endpoint when it loads, so a lost publication costs a stale badge
until then, never an item. Errors are logged, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import Count

from django_notify_tasks.channels.realtime.publish import publish_batch
from django_notify_tasks.channels.realtime.tokens import personal_channel_of
from django_notify_tasks.conf import app_settings
from django_notify_tasks.models import InboxItem

logger = logging.getLogger(__name__)
MESSAGE_TYPE = "notify_tasks.inbox"  # "type" of the publications, for the page's handler


def item_json(item: InboxItem) -> dict[str, Any]:
    """An item as the inbox endpoint and the publications show it."""
    return {
        "id": item.pk,
        "title": item.title,
        "body": item.body,
        "url": item.url,
        "created": item.created.isoformat(),
        "read": item.read_at is not None,
    }


def unread_counts(user_ids: Iterable[Any], using: str) -> dict[Any, int]:
    """Unread items per user, for many users in one query."""
    rows = (
        InboxItem.objects.using(using)
        .filter(user_id__in=list(user_ids), read_at__isnull=True)
        .values("user_id")
        .annotate(unread=Count("id"))
        .order_by()
        .values_list("user_id", "unread")
    )
    return dict(rows)


def live() -> bool:
    """Whether counts are published: realtime is on."""
    return bool(app_settings.centrifugo_api_url)


def publish_new_items(items: list[InboxItem], using: str) -> None:
    """Each user's new count and their newest item, one batch request per 500 users."""
    if not live() or not items:
        return
    newest = {item.user_id: item for item in sorted(items, key=lambda item: item.pk)}
    counts = unread_counts(newest, using)
    _publish(
        [
            (user_id, {"unread": counts.get(user_id, 0), "item": item_json(item)}, item.pk)
            for user_id, item in newest.items()
        ]
    )


def publish_count(user_id: Any, unread: int) -> None:
    """A user's count after they marked items read."""
    if live():
        _publish([(user_id, {"unread": unread}, None)])


def _publish(messages: list[tuple[Any, dict[str, Any], int | None]]) -> None:
    publications = [
        (
            personal_channel_of(user_id),
            {"type": MESSAGE_TYPE, **data},
            None if item_pk is None else f"notify-tasks-inbox-{item_pk}",
        )
        for user_id, data, item_pk in messages
    ]
    try:
        publish_batch(publications)
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.warning("The live inbox count of %d user(s) was not published", len(messages),
                       exc_info=True)  # fmt: skip
