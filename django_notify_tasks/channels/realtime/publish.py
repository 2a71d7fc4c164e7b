"""Publishing to Centrifugo through the ``cent`` client: one request per payload (a broadcast
for many channels), with an idempotency key, and what its errors mean for a retry."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded

from django_notify_tasks.channels.base import OnError, OnSent
from django_notify_tasks.channels.realtime.extra import RealtimeExtraMissing, require
from django_notify_tasks.channels.realtime.names import check_channel
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery

if TYPE_CHECKING:
    from cent import Client

# cent is the optional ``realtime`` extra (channels/realtime/extra.py): imported where used.

BROADCAST_CHUNK = 500  # channels per broadcast request
INTERNAL_ERROR = 100  # the one Centrifugo API error code worth retrying
# Centrifugo answers a wrong or missing key with a bare 401 and cent's error says nothing more.
UNAUTHORIZED = (
    "CentUnauthorizedError: Centrifugo answered 401 Unauthorized: it does not accept "
    "NOTIFY_TASKS_CENTRIFUGO_API_KEY (compare its http_api.key)"
)


def client() -> Client:
    """One ``cent.Client`` per worker process and configuration."""
    url = app_settings.centrifugo_api_url
    if not url:
        raise PermanentDeliveryError("NOTIFY_TASKS_CENTRIFUGO_API_URL is not set")
    try:
        require("cent")
    except RealtimeExtraMissing as exc:  # no retry installs it
        raise PermanentDeliveryError(str(exc)) from exc
    return _client(url, app_settings.centrifugo_api_key or "", app_settings.centrifugo_timeout)


@functools.lru_cache(maxsize=4)
def _client(url: str, key: str, timeout: float) -> Client:
    from cent import Client

    return Client(url, key, timeout=timeout)


def publish(channel: str, data: Any, idempotency_key: str | None = None) -> None:
    """Publish plain JSON ``data`` on one channel: the package's one ``publish`` call."""
    check_channel(channel)
    api = client()
    from cent import PublishRequest

    request = PublishRequest(channel=channel, data=data, idempotency_key=idempotency_key)
    api.publish(request)


BATCH_CHUNK = 500  # commands per batch request


def publish_batch(publications: Sequence[tuple[str, Any, str | None]]) -> None:
    """Publish ``(channel, data, idempotency_key)`` triples, different data on each channel,
    in one batch request per 500; raise on the first error (cent cannot tell which failed)."""
    if not publications:
        return
    api = client()
    from cent import BatchRequest, PublishRequest

    for start in range(0, len(publications), BATCH_CHUNK):
        chunk = publications[start : start + BATCH_CHUNK]
        for channel, _, _ in chunk:
            check_channel(channel)
        commands = [PublishRequest(channel=channel, data=data, idempotency_key=key)
                    for channel, data, key in chunk]  # fmt: skip
        api.batch(BatchRequest(requests=commands, parallel=True))


def idempotency_key(delivery: Delivery) -> str:
    """Centrifugo drops a repeat of this key on the same channel within its window."""
    return f"notify-tasks-{delivery.notification.stamp}"


def publish_each(
    deliveries: Sequence[Delivery],
    on_sent: OnSent,
    on_error: OnError,
) -> None:
    """Publish deliveries that share a payload in as few requests as possible."""
    groups: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        groups[(delivery.notification_id, delivery.body)].append(delivery)
    for group in groups.values():
        for start in range(0, len(group), BROADCAST_CHUNK):
            _publish_group(group[start : start + BROADCAST_CHUNK], on_sent, on_error)


MISSING_REPLY = "Centrifugo's broadcast reply had no answer for this channel"
_NO_REPLY = object()


def _publish_group(
    group: list[Delivery],
    on_sent: OnSent,
    on_error: OnError,
) -> None:
    data = json.loads(group[0].body)
    key = idempotency_key(group[0])
    try:
        if len(group) == 1:
            publish(group[0].target, data, key)
            replies: list[Any] = [None]
        else:
            replies = _broadcast([d.target for d in group], data, key)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        error = classify(exc)
        for delivery in group:
            on_error(delivery, error)
        return
    # Centrifugo answers once per channel; a reply short of that must not leave rows claimed.
    replies += [_NO_REPLY] * (len(group) - len(replies))
    sent = []
    for delivery, error in zip(group, replies, strict=False):  # errors recorded first, each
        if error is None:
            sent.append(delivery)
        elif error is _NO_REPLY:
            on_error(delivery, TransientDeliveryError(MISSING_REPLY))
        else:
            on_error(delivery, _api_error(error.code, error.message))
    if sent:
        on_sent(*sent)  # one statement records them all


def _broadcast(channels: list[str], data: Any, key: str) -> list[Any]:
    api = client()
    from cent import BroadcastRequest

    request = BroadcastRequest(channels=channels, data=data, idempotency_key=key)
    return [response.error for response in api.broadcast(request).responses]


def classify(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Retry network trouble, timeouts, 5xx and code 100; configuration errors fail at once."""
    if isinstance(exc, PermanentDeliveryError | TransientDeliveryError):
        return exc
    try:
        from cent.exceptions import (
            CentApiResponseError,
            CentDecodeError,
            CentNetworkError,
            CentTimeoutError,
            CentTransportError,
            CentUnauthorizedError,
        )
    except ImportError:  # without cent no cent error can happen
        return PermanentDeliveryError(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, CentApiResponseError):
        return _api_error(exc.code, exc.message)
    if isinstance(exc, CentUnauthorizedError):  # retrying cannot make the key right
        return PermanentDeliveryError(UNAUTHORIZED)
    reason = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, CentTransportError):
        # cent drops the body; for 400 Centrifugo's whole answer is the status text.
        reason += f" ({http_status_text(exc.status_code)})"
        transient = exc.status_code >= 500
    else:
        transient = isinstance(exc, CentNetworkError | CentTimeoutError | CentDecodeError)
    return TransientDeliveryError(reason) if transient else PermanentDeliveryError(reason)


def http_status_text(code: int) -> str:
    """``Bad Request`` for 400: what Go's ``http.Error`` writes, and so what Centrifugo says."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "unknown status"


def _api_error(code: int, message: str) -> TransientDeliveryError | PermanentDeliveryError:
    reason = f"Centrifugo error {code}: {message}"
    if code == INTERNAL_ERROR:
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)
