"""What a run records on the rows it holds: one prepared UPDATE for one result or several,
guarded by the claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_notify_tasks import deliveries
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def held() -> Delivery:
    notification = Notification.objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1"
    )
    Delivery.objects.create(
        notification=notification, channel="email", target="a@chat.example", error="earlier"
    )
    [delivery] = deliveries.claim(
        list(Delivery.objects.values_list("pk", flat=True)), "email", "default"
    )
    return delivery


def test_marking_sent_records_the_values_the_orm_would(held: Delivery) -> None:
    outcome = deliveries.Outcome()
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        deliveries.mark_sent(
            [held], outcome, "default", lambda _: {"message_id": "<m@chat.example>"}
        )
    [statement] = [query["sql"] for query in queries.captured_queries]
    assert statement.startswith("UPDATE")
    row = Delivery.objects.get()
    assert (row.status, row.error, row.message_id) == ("sent", "", "<m@chat.example>")
    # An aware datetime goes in and comes back as the same instant, on SQLite as on PostgreSQL.
    assert row.sent_at is not None and before <= row.sent_at <= timezone.now()
    assert row.updated_at == row.sent_at
    assert outcome.sent == [held.pk]


def test_errors_are_recorded_with_their_reason(held: Delivery, settings: Any) -> None:
    settings.NOTIFY_TASKS_MAX_RETRIES = 1
    outcome = deliveries.Outcome()
    deliveries.mark_error(held, TransientDeliveryError("421 busy"), outcome, "default")
    assert Delivery.objects.values_list("status", "error").get() == ("retrying", "421 busy")
    deliveries.mark_error(held, PermanentDeliveryError("550 no such user"), outcome, "default")
    assert Delivery.objects.values_list("status", "error").get() == ("failed", "550 no such user")
    assert (outcome.retry, outcome.failed) == ([held.pk], {held.pk: "550 no such user"})


def test_a_row_another_run_took_over_is_left_as_that_run_wrote_it(held: Delivery) -> None:
    Delivery.objects.update(claimed_at=timezone.now() - timedelta(days=1))  # held past the limit
    [taken] = deliveries.claim([held.pk], "email", "default", takeable=deliveries.claim_expired())
    deliveries.mark_sent([held], deliveries.Outcome(), "default")  # the first run, too late
    deliveries.mark_error(held, PermanentDeliveryError("late"), deliveries.Outcome(), "default")
    row = Delivery.objects.get()
    assert (row.status, row.claim_token, row.sent_at) == ("sending", taken.claim_token, None)


def claimed(count: int) -> list[Delivery]:
    notification = Notification.objects.create(
        rule="r", event="created", model="testapp.chat", object_pk="1"
    )
    Delivery.objects.bulk_create(
        Delivery(notification=notification, channel="email", target=f"m{n}@chat.example")
        for n in range(count)
    )
    ids = list(Delivery.objects.values_list("pk", flat=True))
    return deliveries.claim(ids, "email", "default")


def test_several_results_are_recorded_in_one_statement_each_with_its_own_values() -> None:
    rows = claimed(3)
    outcome = deliveries.Outcome()
    with CaptureQueriesContext(connection) as queries:
        deliveries.mark_sent(rows, outcome, "default", lambda row: {"message_id": f"<{row.pk}@x>"})
    assert len(queries.captured_queries) == 1
    stored = Delivery.objects.order_by("pk").values_list("pk", "status", "message_id")
    assert list(stored) == [(row.pk, "sent", f"<{row.pk}@x>") for row in rows]
    assert outcome.sent == [row.pk for row in rows]


def test_a_group_records_only_the_rows_the_run_still_holds() -> None:
    rows = claimed(3)
    Delivery.objects.filter(pk=rows[1].pk).update(claim_token="another run")
    deliveries.mark_sent(rows, deliveries.Outcome(), "default")
    stored = dict(Delivery.objects.values_list("pk", "status"))
    assert stored == {rows[0].pk: "sent", rows[1].pk: "sending", rows[2].pk: "sent"}


def test_a_large_group_is_recorded_in_statements_of_bounded_size() -> None:
    rows = claimed(deliveries.MARKS_PER_STATEMENT + 1)
    with CaptureQueriesContext(connection) as queries:
        deliveries.mark_sent(
            rows, deliveries.Outcome(), "default", lambda row: {"message_id": "x"}
        )
    assert len(queries.captured_queries) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_rows_with_different_extra_fields_are_each_recorded_with_theirs() -> None:
    rows = claimed(3)

    def fields(row: Delivery) -> dict[str, str]:  # a custom channel's, not the same for all
        return {"message_id": f"<{row.pk}@x>"} if row.pk != rows[1].pk else {}

    deliveries.mark_sent(rows, deliveries.Outcome(), "default", fields)
    stored = Delivery.objects.order_by("pk").values_list("status", "message_id")
    assert list(stored) == [
        ("sent", f"<{rows[0].pk}@x>"),
        ("sent", ""),
        ("sent", f"<{rows[2].pk}@x>"),
    ]


def test_giving_a_row_back_leaves_a_result_already_written() -> None:
    first, second = claimed(2)
    deliveries.mark_sent([first], deliveries.Outcome(), "default")  # then the run stopped
    deliveries.release([first, second], "out of time", deliveries.Outcome(), "default")
    stored = dict(Delivery.objects.values_list("pk", "status"))
    assert stored == {first.pk: "sent", second.pk: "retrying"}
