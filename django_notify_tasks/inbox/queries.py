"""The inbox's reads and writes, each one statement on an index of ``InboxItem``.

Pages follow a cursor, never an OFFSET: the cursor is the id of the last item a page
showed, and the next page is the items below it (``id < cursor``), newest first. Ids grow
with every insert, so a page is a range scan of the ``(user, id)`` index however deep it
is, and items stored meanwhile neither shift nor repeat the pages after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_notify_tasks.channels.inapp import live
from django_notify_tasks.models import InboxItem

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of a user's items, newest first; ``next``: the cursor of the page after."""

    items: list[InboxItem]
    next: str | None


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor stands for; ``ValueError`` for one this package did not give."""
    if cursor in (None, ""):
        return None
    if not cursor.isdigit():
        raise ValueError(f"cursor should be the 'next' of a page, not {cursor!r}")
    return int(cursor)


def items_page(
    user: Any, *, cursor: str | None = None, unread: bool = False, size: int = PAGE_SIZE
) -> Page:
    """A page of ``user``'s items, in one query."""
    rows = InboxItem.objects.filter(user=user)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    before = decode_cursor(cursor)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[: size + 1])  # one more: is there a next page?
    items = found[:size]
    return Page(items, str(items[-1].pk) if len(found) > size else None)


def unread_count(user: Any) -> int:
    """How many of ``user``'s items are unread: one count on the unread index."""
    return InboxItem.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user: Any, ids: Sequence[int] | None = None) -> int:
    """Mark ``user``'s items with these ids read (all of theirs when None; other users' ids
    are ignored); return the new unread count, published live after commit."""
    rows = InboxItem.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    changed = rows.update(read_at=timezone.now())
    unread = unread_count(user)
    if changed:
        user_id = user.pk
        transaction.on_commit(lambda: live.publish_count(user_id, unread))
    return unread
