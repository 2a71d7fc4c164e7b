"""Exactly one digest per user per window with two real worker processes and two beat ticks
of the bundled ``send_digests`` task at once, counted at a real SMTP server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from django_notify_tasks.models import Delivery, Digest, Notification
from django_notify_tasks.processing import process_pending
from tests.conftest import make_user
from tests.support.services import SmtpServer
from tests.support.workers import CeleryWorker
from tests.testapp.models import Chat, Membership

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TICKS = 2


def rule(subject: str, every: str) -> dict[str, Any]:
    email = {"to": ["chat.admin", "user"], "subject": subject, "body": ".", "digest": every}
    return {"model": "testapp.Membership", "on": ["created"], "email": email}


@pytest.fixture
def two_workers(
    celery_app: Any, smtp_server: SmtpServer, tmp_path: Path
) -> Iterator[list[CeleryWorker]]:
    """Two ``celery worker`` processes (prefork, two processes each), a queue each."""
    workers = [
        CeleryWorker(
            celery_app,
            queue,
            tmp_path / f"{queue}.log",
            settings_module="tests.support.digest_worker_settings",
            env={"DIGEST_SMTP_PORT": str(smtp_server.port), "DIGEST_QUEUE": queue},
        )
        for queue in ("digests-one", "digests-two")
    ]
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def test_two_workers_and_two_beat_ticks_send_one_digest_per_user(
    settings: Any,
    chat: Chat,
    notify_tasks_outbox: list[int],
    smtp_server: SmtpServer,
    two_workers: list[CeleryWorker],
    celery_app: Any,
) -> None:
    settings.NOTIFY_TASKS_RULES = {"a": rule("A", "hourly"), "b": rule("B", "daily")}
    for name in ("bob", "carol"):
        Membership.objects.create(chat=chat, user=make_user(name))
    for notification in Notification.objects.order_by("pk"):
        process_pending(notification.pk, "default", limit=1)
    held = Delivery.objects.filter(status=Delivery.Status.HELD)
    assert held.count() == 8  # alice (the admin) 4, bob 2, carol 2
    # The hour and the day have passed: every held row is due at the same window end.
    held.update(due_at=timezone.now() - timedelta(seconds=1))

    for _tick in range(TICKS):  # each beat tick reaches both workers at once
        for worker in two_workers:
            celery_app.send_task("django_notify_tasks.send_digests", queue=worker.queue)

    two_workers[0].wait_until(
        lambda: len(smtp_server.messages) >= 3 and all(w.idle() for w in two_workers),
        90,
        "three digests sent and both workers idle",
    )
    for worker in two_workers:  # both ticks ran on both workers: four runs raced
        assert worker.log(400).count("send_digests[") >= 2 * TICKS, worker.log()
    received = Counter(address for m in smtp_server.messages for address in m.envelope_to)
    assert received == {"alice@chat.example": 1, "bob@chat.example": 1, "carol@chat.example": 1}
    assert sorted(m.subject for m in smtp_server.messages) == [
        "2 notifications", "2 notifications", "4 notifications",
    ]  # fmt: skip
    assert sorted(Digest.objects.values_list("items", flat=True)) == [2, 2, 4]
    assert Delivery.objects.filter(status=Delivery.Status.DIGESTED).count() == 8
    assert not Delivery.objects.filter(status=Delivery.Status.HELD).exists()
