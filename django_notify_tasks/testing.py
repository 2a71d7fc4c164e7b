"""Test helpers for projects that use django-notify-tasks: no broker, no worker needed::

    from django_notify_tasks.testing import capture_dispatch, deliver

    def test_member_joined_emails_the_admin(chat, user):
        with capture_dispatch() as queued:
            Membership.objects.create(chat=chat, user=user)   # in your transaction
        deliver(queued)                                        # process and send, here
        assert mail.outbox[0].to == [chat.admin.email]

With pytest, the ``notify_tasks_outbox`` fixture does the capturing for a whole test; make
it available in your conftest.py with
``from django_notify_tasks.testing import notify_tasks_outbox  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from celery import current_app
from django.db import DEFAULT_DB_ALIAS
from django.test import override_settings

from django_notify_tasks import dispatch, processing
from django_notify_tasks.channels import get_channel
from django_notify_tasks.models import Delivery, Notification

__all__ = ["capture_dispatch", "deliver", "notify_tasks_outbox"]


@contextmanager
def capture_dispatch() -> Iterator[list[int]]:
    """Keep notifications away from the broker; collect the ids that would have been queued.

    Ids are collected when the transaction commits, as in production: inside Django's
    ``TestCase`` use ``captureOnCommitCallbacks(execute=True)`` (pytest-django:
    ``django_capture_on_commit_callbacks``), or collect ids yourself from ``Notification``.
    With ``NOTIFY_TASKS_DISPATCH = "relay"`` the saves inside are dispatched on commit, as
    with ``"on_commit"``, so that the ids are collected all the same.
    """
    queued: list[int] = []
    original = dispatch.enqueue_notifications

    def record(notification_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS) -> None:
        queued.extend(notification_ids)

    dispatch.enqueue_notifications = record
    try:
        with override_settings(NOTIFY_TASKS_DISPATCH="on_commit"):
            yield queued
    finally:
        dispatch.enqueue_notifications = original


def deliver(
    notification_ids: Iterable[int] | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> list[Delivery]:
    """Process notifications (default: every pending one) and send their deliveries here.

    Runs the real tasks in this process (``Task.apply``), through your email backend (use
    ``locmem`` to read ``mail.outbox``) and your Centrifugo settings; retries happen at once.
    Returns the deliveries of those notifications, as they ended.
    """
    if notification_ids is None:
        pending = Notification.objects.using(using).filter(status=Notification.Status.PENDING)
        notification_ids = pending.order_by("pk").values_list("pk", flat=True)
    ids = list(notification_ids)
    kwargs = {} if using == DEFAULT_DB_ALIAS else {"using": using}
    for notification_id in ids:
        for channel, delivery_ids in processing.process_notification(
            notification_id, using
        ).items():
            sender = get_channel(channel)
            task = current_app.tasks[sender.task_name]
            task.apply(args=sender.task_args(delivery_ids), kwargs=kwargs)
    return list(Delivery.objects.using(using).filter(notification__in=ids).order_by("pk"))


try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pass
else:

    @pytest.fixture
    def notify_tasks_outbox() -> Iterator[list[int]]:
        """For the whole test, the ids of notifications that would have gone to the broker."""
        with capture_dispatch() as queued:
            yield queued
