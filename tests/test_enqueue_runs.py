"""Notifications go to the broker one ``process_notification`` per processing run's batch:
the first id of each ``NOTIFICATIONS_PER_RUN`` is the task's own, and its run takes the rest
along."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from django_notify_tasks import dispatch, notify_bulk
from django_notify_tasks.notification_claims import NOTIFICATIONS_PER_RUN, claim_pending
from tests.testapp.models import Chat

pytestmark = pytest.mark.django_db(transaction=True)
PROCESS = "django_notify_tasks.process_notification"
PER_RUN = NOTIFICATIONS_PER_RUN


def queued(sent_tasks: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
    return [args for name, args, _ in sent_tasks if name == PROCESS]


def test_a_bulk_past_two_runs_is_queued_as_three_runs(
    settings: Any, chat: Chat, sent_tasks: Any
) -> None:
    settings.NOTIFY_TASKS_DISPATCH = "on_commit"
    settings.NOTIFY_TASKS_RULES = {"ping": {
        "model": "testapp.Chat", "on": ["created"],
        "email": {"to": ["admin.email"], "subject": "s", "body": "b"},
    }}  # fmt: skip
    with transaction.atomic():
        ids = notify_bulk("ping", [chat] * (2 * PER_RUN + 20))
    assert queued(sent_tasks) == [(ids[0],), (ids[PER_RUN],), (ids[2 * PER_RUN],)]


def test_a_broker_failure_hands_over_the_groups_before_it(monkeypatch: Any) -> None:
    published: list[list[int]] = []

    def enqueue(
        task: str, args: tuple[int, ...], using: str, *, also: Any, **options: Any
    ) -> bool:
        published.append([args[0], *also])
        return len(published) < 3  # the third publish fails

    monkeypatch.setattr(dispatch, "enqueue", enqueue)
    ids = list(range(1, 131))
    assert dispatch.enqueue_runs(ids, "default", per_run=50) == ids[:100]
    # Each task carries its whole group as the run's own rows.
    assert published == [ids[:50], ids[50:100], ids[100:]]


def test_a_run_takes_its_whole_group_before_older_waiting_rows(
    settings: Any, chat: Chat, sent_tasks: Any
) -> None:
    """Every row handed over is in one task's own group: none waits for another run to have
    room to take it along (on SQLite two runs may choose the same oldest rows, and one of
    them then claims none of them)."""
    settings.NOTIFY_TASKS_RULES = {"ping": {
        "model": "testapp.Chat", "on": ["created"],
        "email": {"to": ["admin.email"], "subject": "s", "body": "b"},
    }}  # fmt: skip
    ids = notify_bulk("ping", [chat] * 6)
    _token, batch = claim_pending(ids[3], "default", 4, also=ids[4:])
    assert [row.pk for row in batch] == [ids[3], ids[4], ids[5], ids[0]]
