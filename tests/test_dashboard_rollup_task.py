"""The rollup as beat runs it: the task, by its name, in a real worker on the real broker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from django_notify_tasks.models import Delivery, HourlyCount
from tests.support.dashboard_data import delivery_at
from tests.support.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_worker_rolls_settled_hours_up_when_the_task_is_sent(
    celery_worker: Any, celery_app: Any
) -> None:
    now = timezone.now()
    for hours in (3, 3, 5):
        delivery_at(now - timedelta(hours=hours))
    Delivery.objects.update(updated_at=F("created_at"))

    celery_app.send_task("django_notify_tasks.roll_up_deliveries")

    rolled = wait_for(
        lambda: HourlyCount.objects.aggregate(n=Sum("count"))["n"], message="rolled counts"
    )
    assert rolled == 3
