"""A user's in-app inbox: their items a page at a time, the unread count, marking read
(docs/inbox.md). The items are stored by the ``inapp`` channel."""

from django_notify_tasks.inbox.queries import (
    Page,
    decode_cursor,
    items_page,
    mark_read,
    unread_count,
)

__all__ = ["Page", "decode_cursor", "items_page", "mark_read", "unread_count"]
