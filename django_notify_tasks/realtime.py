"""Centrifugo: build realtime deliveries, and publish them through the ``cent`` client."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from cent import BroadcastRequest, Client, PublishRequest
from cent.exceptions import (
    CentApiResponseError,
    CentDecodeError,
    CentNetworkError,
    CentTimeoutError,
    CentTransportError,
)
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, TransientDeliveryError
from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.paths import resolve_path
from django_notify_tasks.rules import PLACEHOLDER, RealtimeSpec

NAMESPACE = re.compile(r"^[-a-zA-Z0-9_]{2,}$")
MAX_CHANNEL_LENGTH = 255
BROADCAST_CHUNK = 500  # channels per broadcast request
INTERNAL_ERROR = 100  # the one Centrifugo API error code worth retrying

# Channels ------------------------------------------------------------------------------------


def render_channel(template: str, context: dict[str, Any]) -> str:
    """Fill ``{instance.attr}`` placeholders and check the result is a valid channel name."""

    def fill(match: re.Match[str]) -> str:
        root, _, path = match.group(1).partition(".")
        values = resolve_path(context[root], path) if path else [context[root]]
        if len(values) != 1 or values[0] is None:
            raise PermanentDeliveryError(
                f"channel {template!r}: {{{match.group(1)}}} gave {values!r}, not one value"
            )
        text = str(values[0])
        if not text:  # "personal:#" passes as a channel name, but it names no user
            raise PermanentDeliveryError(f"channel {template!r}: {{{match.group(1)}}} is empty")
        return text

    try:
        channel = PLACEHOLDER.sub(fill, template)
    except (PermanentDeliveryError, SoftTimeLimitExceeded):
        raise
    except Exception as exc:  # a property on the path may raise anything
        raise PermanentDeliveryError(f"channel {template!r}: {type(exc).__name__}: {exc}") from exc
    check_channel(channel)
    return channel


def check_channel(channel: str) -> None:
    """Reject names Centrifugo would reject: empty, too long, non-ASCII, bad namespace."""
    if not channel:
        raise PermanentDeliveryError("the channel name is empty")
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise PermanentDeliveryError(f"channel {channel[:40]!r}... is longer than 255 characters")
    if not channel.isascii():
        raise PermanentDeliveryError(f"channel {channel!r} is not ASCII")
    namespace, colon, _ = channel.partition(":")
    if colon and not NAMESPACE.match(namespace):
        raise PermanentDeliveryError(f"channel {channel!r} has an invalid namespace {namespace!r}")


# Payload -------------------------------------------------------------------------------------


def default_payload(notification: Notification, instance: models.Model) -> dict[str, Any]:
    """What the browser gets when a rule gives no ``data`` callable."""
    return {
        "notification": notification.pk,
        "rule": notification.rule,
        "event": notification.event,
        "model": notification.model,
        "pk": notification.object_pk,
        "related_pk": notification.related_pk or None,
        "text": str(instance),
        "created_at": notification.created_at,
    }


def encode_payload(spec: RealtimeSpec, notification: Notification, instance: models.Model) -> str:
    """The payload as JSON text (dates, UUIDs and Decimals become strings) or a clear error."""
    try:
        data = (
            spec.data(instance, notification.event)
            if spec.data
            else default_payload(notification, instance)
        )
        # NaN is not JSON: cent would fail on it with an error of requests, not of cent.
        return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PermanentDeliveryError(f"realtime data is not JSON serializable: {exc}") from exc
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        raise PermanentDeliveryError(f"realtime data raised {type(exc).__name__}: {exc}") from exc


def build_realtime_deliveries(
    spec: RealtimeSpec, notification: Notification, instance: models.Model, context: dict[str, Any]
) -> list[Delivery]:
    """One unsaved Delivery per distinct channel; problems become failed deliveries."""
    try:
        payload = encode_payload(spec, notification, instance)
    except PermanentDeliveryError as exc:
        return [_delivery(notification, "(all channels)", "", error=str(exc))]
    deliveries: dict[str, Delivery] = {}
    for template in spec.channels:
        try:
            channel = render_channel(template, context)
        except PermanentDeliveryError as exc:
            deliveries.setdefault(template, _delivery(notification, template, "", error=str(exc)))
            continue
        deliveries.setdefault(channel, _delivery(notification, channel, payload))
    return list(deliveries.values())


def _delivery(notification: Notification, target: str, payload: str, error: str = "") -> Delivery:
    return Delivery(
        notification=notification,
        channel=Delivery.Channel.REALTIME,
        target=target[:255],
        body=payload,
        status=Delivery.Status.FAILED if error else Delivery.Status.PENDING,
        error=error,
    )


# Publishing ----------------------------------------------------------------------------------


def client() -> Client:
    """One ``cent.Client`` per worker process and configuration."""
    url = app_settings.centrifugo_api_url
    if not url:
        raise PermanentDeliveryError("NOTIFY_TASKS_CENTRIFUGO_API_URL is not set")
    return _client(url, app_settings.centrifugo_api_key or "", app_settings.centrifugo_timeout)


@functools.lru_cache(maxsize=4)
def _client(url: str, key: str, timeout: float) -> Client:
    return Client(url, key, timeout=timeout)


def publish(channel: str, data: Any, idempotency_key: str | None = None) -> None:
    """Publish plain JSON ``data`` on one channel: the package's one ``publish`` call."""
    check_channel(channel)
    request = PublishRequest(channel=channel, data=data, idempotency_key=idempotency_key)
    client().publish(request)


def idempotency_key(delivery: Delivery) -> str:
    """Centrifugo drops a repeat of this key on the same channel within its window."""
    return f"notify-tasks-{delivery.notification.stamp}"


def publish_each(
    deliveries: Sequence[Delivery],
    on_sent: Callable[[Delivery], None],
    on_error: Callable[[Delivery, Exception], None],
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
    on_sent: Callable[[Delivery], None],
    on_error: Callable[[Delivery, Exception], None],
) -> None:
    data = json.loads(group[0].body)
    key = idempotency_key(group[0])
    try:
        if len(group) == 1:
            publish(group[0].target, data, key)
            replies: list[Any] = [None]
        else:
            channels = [d.target for d in group]
            request = BroadcastRequest(channels=channels, data=data, idempotency_key=key)
            replies = [response.error for response in client().broadcast(request).responses]
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        error = classify(exc)
        for delivery in group:
            on_error(delivery, error)
        return
    # Centrifugo answers once per channel; a reply short of that must not leave rows claimed.
    replies += [_NO_REPLY] * (len(group) - len(replies))
    for delivery, error in zip(group, replies, strict=False):
        if error is _NO_REPLY:
            on_error(delivery, TransientDeliveryError(MISSING_REPLY))
        elif error is None:
            on_sent(delivery)
        else:
            on_error(delivery, _api_error(error.code, error.message))


def classify(exc: Exception) -> TransientDeliveryError | PermanentDeliveryError:
    """Retry network trouble, timeouts, 5xx and code 100; configuration errors fail at once."""
    if isinstance(exc, PermanentDeliveryError | TransientDeliveryError):
        return exc
    if isinstance(exc, CentApiResponseError):
        return _api_error(exc.code, exc.message)
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
