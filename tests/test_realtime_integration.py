"""End to end: real Redis, a real Celery worker, the real cent client, the Centrifugo double."""

from __future__ import annotations

from typing import Any

import pytest

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.tasks import publish_realtime
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SENT, FAILED = Delivery.Status.SENT, Delivery.Status.FAILED


def rule(settings: Any, channels: list[str], email: bool = False, data: Any = None) -> None:
    spec: dict[str, Any] = {"model": "testapp.Membership", "on": ["created"]}
    spec["realtime"] = {"channels": channels}
    if data is not None:
        spec["realtime"]["data"] = data
    if email:
        spec["email"] = {"to": ["chat.admin.email"], "subject": "Joined", "body": "."}
    settings.NOTIFY_TASKS_RULES = {"joined": spec}


def realtime_rows(**filters: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(channel="realtime", **filters).order_by("target"))


def settled(count: int) -> Any:
    """All realtime deliveries reached sent or failed."""
    return lambda: len(realtime_rows(status__in=[SENT, FAILED])) == count


def test_publishes_once_per_channel_with_key_and_idempotency_key(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any
) -> None:
    rule(settings, ["chats:{instance.chat_id}", "personal:#{instance.chat.admin_id}"])
    Membership.objects.create(chat=chat, user=member)

    wait_for(settled(2), message="both channels published")
    notification = Notification.objects.get()
    published = sorted((p.channel, p.idempotency_key) for p in centrifugo.publications)
    key = f"notify-tasks-{notification.stamp}"
    assert published == [(f"chats:{chat.pk}", key), (f"personal:#{chat.admin_id}", key)]
    [request] = centrifugo.requests  # one broadcast for both channels
    assert request.path == "/api/broadcast"
    assert request.headers["x-api-key"] == "test-api-key"
    assert centrifugo.publications[0].data["text"] == "bob in Gardening"


def test_task_run_twice_or_redelivered_shows_one_publication(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any, task_states: Any
) -> None:
    rule(settings, ["chats:{instance.chat_id}"])
    Membership.objects.create(chat=chat, user=member)
    [delivery] = wait_for(lambda: realtime_rows(status=SENT))

    publish_realtime.delay([delivery.pk])  # a duplicate task: the claim stops it
    wait_for(lambda: ("django_notify_tasks.publish_realtime", "SUCCESS") in task_states[-1:])
    assert centrifugo.requests_count == 1
    # As if the worker died after publishing, before recording it: the row is sent again,
    # and Centrifugo's idempotency window drops the repeat.
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)
    publish_realtime.delay([delivery.pk])
    wait_for(lambda: centrifugo.requests_count == 2 and realtime_rows(status=SENT))
    assert len(centrifugo.publications) == 1


@pytest.mark.parametrize("fault", ["http_503", "code_100", "drop", "timeout"])
def test_transient_faults_are_retried_and_published_once(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any, fault: str
) -> None:
    rule(settings, ["chats:{instance.chat_id}"])
    centrifugo.fail_next(fault, delay=1.0 if fault == "timeout" else None)
    Membership.objects.create(chat=chat, user=member)

    [delivery] = wait_for(lambda: realtime_rows(status=SENT), message=f"sent after {fault}")
    assert delivery.attempts == 2
    # After a timeout Centrifugo had published: the retry is dropped as a repeat.
    assert len(centrifugo.publications) == 1


def test_wrong_api_key_fails_at_once_and_email_is_unaffected(
    settings: Any, celery_worker: Any, centrifugo: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    rule(settings, ["chats:{instance.chat_id}"], email=True)
    centrifugo.set_api_key("rotated-key")
    Membership.objects.create(chat=chat, user=member)

    [failed] = wait_for(lambda: realtime_rows(status=FAILED))
    assert failed.attempts == 1
    assert "CentUnauthorizedError" in failed.error
    wait_for(lambda: Delivery.objects.filter(channel="email", status=SENT).exists())
    assert len(smtp_server.messages) == 1


def test_unknown_namespace_fails_that_channel_only(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any
) -> None:
    rule(settings, ["chats:{instance.chat_id}", "nowhere:{instance.chat_id}"])
    Membership.objects.create(chat=chat, user=member)

    wait_for(settled(2))
    good, bad = realtime_rows()
    assert (good.target, good.status) == (f"chats:{chat.pk}", SENT)
    assert (bad.target, bad.status) == (f"nowhere:{chat.pk}", FAILED)
    assert bad.error.startswith("Centrifugo error 102")
    assert bad.attempts == 1
    assert [p.channel for p in centrifugo.publications] == [f"chats:{chat.pk}"]


# One chunk more than a broadcast holds: a full broadcast, then a publish for the last channel.
MANY = realtime.BROADCAST_CHUNK + 1


def many_channels() -> list[str]:
    return [f"chats:{{instance.chat_id}}-{n}" for n in range(MANY)]


def channels_of(request: Any) -> list[str]:
    body = request.body
    return list(body["channels"]) if "channels" in body else [body["channel"]]


def test_more_channels_than_a_chunk_go_out_in_chunks_once_each(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any
) -> None:
    rule(settings, many_channels())
    Membership.objects.create(chat=chat, user=member)

    wait_for(settled(MANY), timeout=60, message=f"{MANY} channels published")
    assert [(r.path, len(channels_of(r))) for r in centrifugo.requests] == [
        ("/api/broadcast", realtime.BROADCAST_CHUNK),
        ("/api/publish", 1),
    ]
    published = sorted(p.channel for p in centrifugo.publications)
    assert published == sorted(f"chats:{chat.pk}-{n}" for n in range(MANY))
    assert len(realtime_rows(status=SENT)) == MANY


@pytest.mark.parametrize("fault", ["http_503", "timeout"])
def test_a_chunk_failing_transiently_is_retried_alone(
    settings: Any, celery_worker: Any, centrifugo: Any, chat: Chat, member: Any, fault: str
) -> None:
    rule(settings, many_channels())
    centrifugo.fail_next(fault, delay=1.0 if fault == "timeout" else None)  # the first chunk
    Membership.objects.create(chat=chat, user=member)

    wait_for(lambda: len(realtime_rows(status=SENT)) == MANY, timeout=60, message="all sent")
    failed, other, retried = centrifugo.requests
    assert failed.fault == fault
    assert channels_of(retried) == channels_of(failed)  # the other chunk is not sent again
    assert len(channels_of(failed)) == realtime.BROADCAST_CHUNK
    # Every channel shows the notification once, also after a timeout where Centrifugo had
    # published the first chunk: the retry carries the same idempotency key.
    published = sorted(p.channel for p in centrifugo.publications)
    assert published == sorted(f"chats:{chat.pk}-{n}" for n in range(MANY))
    assert {r.body["idempotency_key"] for r in (failed, retried)} == {
        f"notify-tasks-{Notification.objects.get().stamp}"
    }
    attempts = {d.target: d.attempts for d in realtime_rows()}
    assert {attempts[c] for c in channels_of(failed)} == {2}
    assert [attempts[c] for c in channels_of(other)] == [1]


def test_http_400_fails_at_once_with_the_reason_and_email_is_sent(
    settings: Any, celery_worker: Any, centrifugo: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    rule(settings, ["chats:{instance.chat_id}"], email=True)
    centrifugo.fail_next("http_400")
    Membership.objects.create(chat=chat, user=member)

    [failed] = wait_for(lambda: realtime_rows(status=FAILED))
    assert failed.attempts == 1
    assert failed.error == "CentTransportError: Transport error - 400 (Bad Request)"
    assert centrifugo.publications == []
    assert centrifugo.requests_count == 1
    wait_for(lambda: Delivery.objects.filter(channel="email", status=SENT).exists())
    assert len(smtp_server.messages) == 1


def no_data(instance: Any, event: str) -> None:
    """A ``data`` callable that returns None: cent drops ``data=None``, Centrifugo says 107."""


def test_api_error_107_fails_at_once_with_the_message_and_email_is_sent(
    settings: Any, celery_worker: Any, centrifugo: Any, smtp_server: Any, chat: Chat, member: Any
) -> None:
    channels = ["chats:{instance.chat_id}", "personal:#{instance.chat.admin_id}"]
    rule(settings, channels, email=True, data=no_data)
    Membership.objects.create(chat=chat, user=member)

    wait_for(settled(2))
    for failed in realtime_rows():
        assert (failed.status, failed.attempts) == (FAILED, 1)
        assert failed.error == "Centrifugo error 107: bad request"
    [request] = centrifugo.requests
    assert "data" not in request.body
    assert centrifugo.publications == []
    wait_for(lambda: Delivery.objects.filter(channel="email", status=SENT).exists())
    assert len(smtp_server.messages) == 1
