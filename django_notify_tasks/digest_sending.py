"""The beat task's work: make the due digests and queue their messages."""

from __future__ import annotations

from django_notify_tasks.channels import all_channels
from django_notify_tasks.sending import queue_deliveries


def send_digests(using: str) -> int:
    """Make and queue every due digest, of every channel that keeps digests; how many."""
    made = 0
    for channel in all_channels():
        ids = channel.send_digests(using)
        queue_deliveries(channel.name, ids, using)
        made += len(ids)
    return made
