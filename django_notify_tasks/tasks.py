"""Celery tasks: thin wrappers that take ids and call the service modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DEFAULT_DB_ALIAS

from django_notify_tasks import deliveries, email, processing, sweeper
from django_notify_tasks.conf import app_settings
from django_notify_tasks.dispatch import enqueue, enqueue_notifications
from django_notify_tasks.exceptions import DeliveryFailed
from django_notify_tasks.models import Delivery

EMAIL_BATCH_SIZE = 50

# Redelivery is safe (rows are claimed), so a message is acknowledged only once it is done.
RELIABLE = {"ignore_result": True, "acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="django_notify_tasks.process_notification", **RELIABLE)
def process_notification(notification_id: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the deliveries of one notification and queue their sending."""
    email_ids = processing.process_notification(notification_id, using)
    for start in range(0, len(email_ids), EMAIL_BATCH_SIZE):
        queue_email(email_ids[start : start + EMAIL_BATCH_SIZE], using)


@shared_task(bind=True, name="django_notify_tasks.deliver_email", **RELIABLE)
def deliver_email(self: Task, delivery_ids: list[int], using: str = DEFAULT_DB_ALIAS) -> None:
    """Send the given email deliveries over one SMTP connection; each is sent at most once."""
    outcome = deliveries.Outcome()
    claimed = deliveries.claim(delivery_ids, Delivery.Channel.EMAIL, using)
    done = 0

    def sent(delivery: Delivery) -> None:
        nonlocal done
        done += 1
        deliveries.mark_sent(delivery, outcome, using, message_id=email.message_id(delivery))

    def failed(delivery: Delivery, error: Exception) -> None:
        nonlocal done
        done += 1
        deliveries.mark_error(delivery, error, outcome, using)

    try:
        email.send_each(claimed, sent, failed)
    except SoftTimeLimitExceeded:
        deliveries.release(claimed[done:], "task soft time limit reached", outcome, using)
    finish(self, outcome, queue_email, using)


def queue_email(
    delivery_ids: Sequence[int], using: str = DEFAULT_DB_ALIAS, **options: Any
) -> bool:
    """Queue ``deliver_email`` with the time limits from settings."""
    return enqueue(
        deliver_email,
        (list(delivery_ids),),
        using,
        soft_time_limit=app_settings.soft_time_limit,
        time_limit=app_settings.time_limit,
        **options,
    )


def finish(task: Task, outcome: deliveries.Outcome, requeue: Any, using: str) -> None:
    """Retry what may pass; end in FAILURE when a delivery failed for good."""
    countdown = deliveries.retry_countdown(task.request.retries)
    if outcome.failed:
        if outcome.retry:
            requeue(outcome.retry, using, countdown=countdown)
        raise DeliveryFailed(
            f"{len(outcome.failed)} delivery(ies) failed: "
            + "; ".join(f"#{pk}: {reason}" for pk, reason in outcome.failed.items())
        )
    if outcome.retry:
        raise task.retry(
            args=(outcome.retry,),
            kwargs={} if using == DEFAULT_DB_ALIAS else {"using": using},
            countdown=countdown,
            max_retries=None,  # the Delivery rows count attempts, across redeliveries too
            soft_time_limit=app_settings.soft_time_limit,
            time_limit=app_settings.time_limit,
        )


@shared_task(name="django_notify_tasks.redispatch_stale", ignore_result=True)
def redispatch_stale(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Re-send notifications and deliveries that an outage held back."""
    notification_ids = sweeper.stale_notification_ids(using)
    enqueue_notifications(notification_ids, using)
    email_ids = sweeper.stale_delivery_ids(Delivery.Channel.EMAIL, using)
    for start in range(0, len(email_ids), EMAIL_BATCH_SIZE):
        queue_email(email_ids[start : start + EMAIL_BATCH_SIZE], using)
    return {"notifications": len(notification_ids), "email": len(email_ids)}
