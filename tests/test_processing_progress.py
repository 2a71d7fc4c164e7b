"""Processing always makes progress: a run stops starting notifications at its time budget,
records what it decided when the soft time limit stops it, gives back the rest with their
attempt, never takes along a notification runs stopped on, and one that keeps stopping
runs fails with the reason instead of being retried for ever.

Time is a fake clock that each slow notification moves on: no sleeping."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks import processing, sending
from django_notify_tasks.models import Notification
from django_notify_tasks.notification_claims import PROCESSING_ATTEMPTS
from tests.conftest import email_rule, make_user
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


class SlowRules:
    """Deciding a notification takes ``seconds`` of a fake clock; past ``limit`` seconds
    since its run began, the run gets SoftTimeLimitExceeded, as Celery would raise it."""

    def __init__(self, monkeypatch: Any, seconds: float, limit: float) -> None:
        self.now = self.run_began = 0.0
        self.seconds, self.limit, self.stuck = seconds, limit, set[int]()
        decide, claim = processing.decide, processing.claim_pending

        def slow_decide(notification: Notification, *args: Any) -> Any:
            self.now += 1000.0 if notification.pk in self.stuck else self.seconds
            if self.now - self.run_began > self.limit:
                raise SoftTimeLimitExceeded()
            return decide(notification, *args)

        def claim_and_start(*args: Any) -> Any:
            self.run_began = self.now
            return claim(*args)

        monkeypatch.setattr(processing, "decide", slow_decide)
        monkeypatch.setattr(processing, "claim_pending", claim_and_start)
        monkeypatch.setattr(processing, "time", self)

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def requeued(monkeypatch: Any, settings: Any) -> list[list[int]]:
    settings.NOTIFY_TASKS_RULES = email_rule("user.email")
    settings.NOTIFY_TASKS_SOFT_TIME_LIMIT = 1  # a run's budget: 0.5 s
    queued: list[list[int]] = []
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications",
        lambda ids, using="default": queued.append(list(ids)),
    )
    monkeypatch.setattr("django_notify_tasks.sending.enqueue", lambda *a, **k: True)
    return queued


def new_members(chat: Chat, count: int) -> list[int]:
    for n in range(count):
        Membership.objects.create(chat=chat, user=make_user(f"member{n:03}"))
    return list(Notification.objects.order_by("pk").values_list("pk", flat=True))


def processed() -> int:
    return Notification.objects.filter(status=Notification.Status.PROCESSED).count()


def test_slow_notifications_are_processed_a_budget_at_a_time(
    monkeypatch: Any, requeued: list[list[int]], chat: Chat
) -> None:
    # The case: 10 notifications of 0.3 s each, soft limit 1 s, three runs.
    SlowRules(monkeypatch, seconds=0.3, limit=1.0)
    ids = new_members(chat, 10)
    for run in range(3):
        sending.process_and_send(ids[-1 - run], "default")
    assert processed() == 6  # two a run: the second start passes the 0.5 s budget
    waiting = Notification.objects.filter(status=Notification.Status.PENDING)
    assert set(waiting.values_list("attempts", flat=True)) == {0}  # never tried: no attempt
    assert set(waiting.values_list("claim_token", flat=True)) == {""}
    # Each run queues what it gave back as one run's batch: 8, then 6, then 4 rows.
    assert [len(ids) for ids in requeued] == [8, 6, 4]


def test_what_a_run_decided_is_kept_when_the_soft_limit_stops_it(
    monkeypatch: Any, requeued: list[list[int]], chat: Chat
) -> None:
    rules = SlowRules(monkeypatch, seconds=0.01, limit=1.0)
    first, stuck, *others = new_members(chat, 4)
    rules.stuck.add(stuck)
    sending.process_and_send(first, "default")  # own first, then the stuck one
    assert Notification.objects.get(pk=first).status == Notification.Status.PROCESSED
    row = Notification.objects.get(pk=stuck)
    assert (row.status, row.attempts, row.claim_token) == ("pending", 1, "")
    assert list(Notification.objects.filter(pk__in=others).values_list("attempts", flat=True)) == [
        0,
        0,
    ]
    # Queued again at once, not left to the sweeper: the stuck one in a run of its own.
    assert requeued == [[stuck], others]


def test_no_run_takes_along_a_notification_runs_stopped_on(
    monkeypatch: Any, requeued: list[list[int]], chat: Chat
) -> None:
    rules = SlowRules(monkeypatch, seconds=0.01, limit=1.0)
    stuck, *others = new_members(chat, 4)
    rules.stuck.add(stuck)
    with pytest.raises(processing.OutOfTime):
        processing.process_pending(stuck, "default")
    sending.process_and_send(others[0], "default")  # the oldest is the stuck one: skipped
    assert processed() == 3
    assert Notification.objects.get(pk=stuck).status == Notification.Status.PENDING


def test_a_notification_runs_keep_stopping_on_fails_with_the_reason(
    monkeypatch: Any, requeued: list[list[int]], chat: Chat
) -> None:
    rules = SlowRules(monkeypatch, seconds=0.01, limit=1.0)
    [stuck] = new_members(chat, 1)
    rules.stuck.add(stuck)
    for _ in range(PROCESSING_ATTEMPTS):
        sending.process_and_send(stuck, "default")
        assert Notification.objects.get(pk=stuck).status == Notification.Status.PENDING
    sending.process_and_send(stuck, "default")
    row = Notification.objects.get(pk=stuck)
    assert row.status == Notification.Status.FAILED
    assert row.error.startswith(f"processing stopped {PROCESSING_ATTEMPTS} times")
