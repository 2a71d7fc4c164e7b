"""Realtime deliveries built from a notification: channels, validation, payload."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from cent.exceptions import (
    CentApiResponseError,
    CentNetworkError,
    CentTimeoutError,
    CentTransportError,
    CentUnauthorizedError,
)
from django.test import override_settings

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.processing import process_notification
from tests.testapp.models import Chat, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setattr(
        "django_notify_tasks.dispatch.enqueue_notifications", lambda ids, using="default": None
    )
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:1/api"  # realtime on


def realtime_rule(settings: Any, channels: list[str], data: Any = None) -> None:
    spec: dict[str, Any] = {"channels": channels}
    if data is not None:
        spec["data"] = data
    settings.NOTIFY_TASKS_RULES = {
        "joined": {"model": "testapp.Membership", "on": ["created"], "realtime": spec}
    }


def realtime_rows(chat: Chat, member: Any) -> list[tuple[str, str, str]]:
    Membership.objects.create(chat=chat, user=member)
    notification = Notification.objects.get()
    process_notification(notification.pk, "default")
    rows = notification.deliveries.filter(channel="realtime").order_by("pk")
    return [(d.target, d.status, d.error) for d in rows]


def test_channels_render_from_instance_paths_and_dedupe(
    settings: Any, chat: Chat, member: Any
) -> None:
    realtime_rule(
        settings,
        [
            "chats:{instance.chat_id}",
            "personal:#{instance.chat.admin_id}",
            "chats:{instance.chat.pk}",
        ],
    )
    assert realtime_rows(chat, member) == [
        (f"chats:{chat.pk}", "pending", ""),
        (f"personal:#{chat.admin_id}", "pending", ""),
    ]


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ("chats:gärten-{instance.chat_id}", "is not ASCII"),
        ("chats:{instance.chat.title}", "characters other than letters, digits"),
        ("chats:{instance.role}" + "a" * 300, "longer than 255"),
        ("chats:{related.pk}", "not one value"),
        ("personal:#{instance.chat.topic}", "{instance.chat.topic} is empty"),
    ],
)
def test_bad_channels_fail_with_the_reason_and_others_go_out(
    settings: Any, chat: Chat, member: Any, channel: str, reason: str
) -> None:
    chat.title = "Gärten"
    chat.save()
    realtime_rule(settings, [channel, "chats:{instance.chat_id}"])
    [(target, status, error), good] = realtime_rows(chat, member)
    assert status == "failed" and reason in error
    assert target == channel[:255]  # the template names the failed delivery
    assert good == (f"chats:{chat.pk}", "pending", "")


def test_default_payload_is_json_with_the_notification_facts(
    settings: Any, chat: Chat, member: Any
) -> None:
    realtime_rule(settings, ["chats:{instance.chat_id}"])
    realtime_rows(chat, member)
    payload = json.loads(Delivery.objects.get().body)
    notification = Notification.objects.get()
    assert payload["notification"] == notification.pk
    assert (payload["rule"], payload["event"], payload["model"]) == (
        "joined",
        "created",
        "testapp.membership",
    )
    assert payload["text"] == "bob in Gardening"
    assert payload["created_at"].startswith(str(notification.created_at.year))


def test_data_callable_values_are_encoded_by_django(
    settings: Any, chat: Chat, member: Any
) -> None:
    ident = uuid.uuid4()
    realtime_rule(
        settings,
        ["chats:{instance.chat_id}"],
        data=lambda m, e: {"id": ident, "cost": Decimal("1.50")},
    )
    realtime_rows(chat, member)
    assert json.loads(Delivery.objects.get().body) == {"id": str(ident), "cost": "1.50"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (lambda m, e: {"raw": object()}, "not JSON serializable"),
        (lambda m, e: {"ratio": float("nan")}, "not JSON serializable"),
        (lambda m, e: 1 / 0, "realtime data raised ZeroDivisionError"),
    ],
)
def test_bad_data_is_a_failed_delivery(
    settings: Any, chat: Chat, member: Any, data: Any, reason: str
) -> None:
    realtime_rule(settings, ["chats:{instance.chat_id}"], data=data)
    [(target, status, error)] = realtime_rows(chat, member)
    assert (target, status) == ("(all channels)", "failed")
    assert reason in error


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (CentTransportError(503), True),
        (CentTransportError(500), True),
        (CentTransportError(400), False),
        (CentTransportError(405), False),
        (CentUnauthorizedError(), False),
        (CentNetworkError("connection reset"), True),
        (CentTimeoutError("read timed out"), True),
        (CentApiResponseError(100, "internal"), True),
        (CentApiResponseError(107, "bad request"), False),
        (ValueError("a bug"), False),
    ],
)
def test_cent_errors_are_classified(exc: Exception, transient: bool) -> None:
    assert isinstance(realtime.classify(exc), TransientDeliveryError) is transient


def test_a_refused_api_key_says_which_setting_to_check() -> None:
    # cent's CentUnauthorizedError has no message (Centrifugo's 401 has an empty body).
    assert str(CentUnauthorizedError()) == ""
    assert str(realtime.classify(CentUnauthorizedError())) == (
        "CentUnauthorizedError: Centrifugo answered 401 Unauthorized: it does not accept "
        "NOTIFY_TASKS_CENTRIFUGO_API_KEY (compare its http_api.key)"
    )


def test_http_error_reason_carries_the_status_text_cent_drops() -> None:
    assert str(realtime.classify(CentTransportError(400))) == (
        "CentTransportError: Transport error - 400 (Bad Request)"
    )
    assert str(realtime.classify(CentTransportError(599))).endswith("(unknown status)")


def test_client_is_reused_until_a_centrifugo_setting_changes(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "key-1"
    settings.NOTIFY_TASKS_CENTRIFUGO_TIMEOUT = 3
    first = realtime.client()
    assert realtime.client() is first
    changes = [
        ("NOTIFY_TASKS_CENTRIFUGO_API_URL", "http://127.0.0.1:2/api"),
        ("NOTIFY_TASKS_CENTRIFUGO_API_KEY", "key-2"),
        ("NOTIFY_TASKS_CENTRIFUGO_TIMEOUT", 0.5),
    ]
    for name, value in changes:
        with override_settings(**{name: value}):
            rebuilt = realtime.client()
            assert rebuilt is not first, name
            assert realtime.client() is rebuilt, name


def test_client_without_an_api_url_is_a_permanent_error(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    with pytest.raises(PermanentDeliveryError, match="NOTIFY_TASKS_CENTRIFUGO_API_URL"):
        realtime.client()


def test_realtime_off_builds_no_realtime_deliveries(
    settings: Any, chat: Chat, member: Any
) -> None:
    realtime_rule(settings, ["chats:{instance.chat_id}"])
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    assert realtime_rows(chat, member) == []
    assert Notification.objects.get().status == "processed"


def test_api_errors_are_classified_by_code() -> None:
    assert isinstance(realtime._api_error(100, "internal"), TransientDeliveryError)
    for code in (102, 107, 108):
        assert isinstance(realtime._api_error(code, "no"), PermanentDeliveryError)


def answering(*errors: Any) -> type:
    """A cent client whose broadcast gets one reply per error given (None: published)."""

    class Client:
        def broadcast(self, request: Any) -> Any:
            replies = [type("Reply", (), {"error": error})() for error in errors]
            return type("Result", (), {"responses": replies})()

    return Client


@pytest.fixture
def two_rows(settings: Any, chat: Chat, member: Any) -> list[Delivery]:
    """A notification's two realtime rows: one broadcast."""
    realtime_rule(settings, ["chats:{instance.chat_id}", "personal:#{instance.user_id}"])
    realtime_rows(chat, member)
    return list(Delivery.objects.filter(channel="realtime").order_by("pk"))


def test_a_channel_missing_from_a_broadcast_reply_is_retried_not_left_sending(
    monkeypatch: Any, two_rows: list[Delivery]
) -> None:
    first, second = two_rows
    # Answered for the first channel only (Centrifugo never does this).
    monkeypatch.setattr(realtime, "client", answering(None))
    sent: list[int] = []
    failed: dict[int, Exception] = {}
    realtime.publish_each(
        [first, second], lambda d: sent.append(d.pk), lambda d, e: failed.update({d.pk: e})
    )
    assert sent == [first.pk]
    assert isinstance(failed[second.pk], TransientDeliveryError)
    assert str(failed[second.pk]) == realtime.MISSING_REPLY


def test_a_broadcast_is_recorded_in_one_call(monkeypatch: Any, two_rows: list[Delivery]) -> None:
    monkeypatch.setattr(realtime, "client", answering(None, None))
    calls: list[list[int]] = []
    realtime.publish_each(
        two_rows,
        lambda *sent: calls.append([d.pk for d in sent]),
        lambda d, e: pytest.fail(str(e)),
    )
    assert calls == [[row.pk for row in two_rows]]  # recorded by one statement, not one each


def test_a_broadcast_records_its_errors_before_its_sent_rows(
    monkeypatch: Any, two_rows: list[Delivery]
) -> None:
    # Recording the sent rows is one statement that the soft time limit may stop; the
    # errors, one each, are written first so that a stop there does not take them along.
    refused = type("Error", (), {"code": 102, "message": "unknown channel"})()
    monkeypatch.setattr(realtime, "client", answering(None, refused))
    calls: list[str] = []
    realtime.publish_each(
        two_rows,
        lambda *sent: calls.append("sent"),
        lambda delivery, error: calls.append(f"error {delivery.pk}"),
    )
    assert calls == [f"error {two_rows[1].pk}", "sent"]
