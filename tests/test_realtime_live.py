"""A real browser-side client (centrifuge-python) on a real Centrifugo: tokens from the
package's endpoints, a real worker's publication, recovery after a disconnect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from django.urls import reverse

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery
from tests.support.centrifugo_server import REALTIME_RULES, TOKEN_SECRET, CentrifugoServer
from tests.support.realtime_client import LiveClient
from tests.support.services import wait_for
from tests.testapp.models import Chat, Membership

pytestmark = [
    pytest.mark.centrifugo,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def live(settings: Any, centrifugo_server: CentrifugoServer) -> Iterator[CentrifugoServer]:
    """Settings pointing the package at the real server, with the rules its config has."""
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = centrifugo_server.api_url
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = centrifugo_server.api_key
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = TOKEN_SECRET
    settings.NOTIFY_TASKS_CENTRIFUGO_TIMEOUT = 2
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 0.05
    settings.NOTIFY_TASKS_RULES = REALTIME_RULES
    yield centrifugo_server
    # The package keeps one cent client per configuration; close its pooled sockets.
    realtime.client().close()
    realtime._client.cache_clear()


def token(client: Any, name: str, **params: str) -> str:
    response = client.get(reverse(f"django_notify_tasks:{name}"), params)
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


@pytest.fixture
def bob(client: Any, member: Any, live: CentrifugoServer) -> Iterator[LiveClient]:
    """The member, connected with a token from the package's connection-token endpoint."""
    client.force_login(member)
    live_client = LiveClient(live.ws_url, token(client, "connection-token"))
    live_client.connect()
    yield live_client
    live_client.close()


def personal(user: Any) -> str:
    return f"personal:#{user.pk}"


def test_member_receives_a_workers_publication_once_also_when_republished(
    client: Any, celery_worker: Any, bob: LiveClient, chat: Chat, member: Any
) -> None:
    channel = personal(member)
    _, received = bob.subscribe(channel, token(client, "subscription-token", channel=channel))

    Membership.objects.create(chat=chat, user=member)

    wait_for(lambda: received.publications, message="the worker's publication")
    sent = Delivery.objects.filter(channel="realtime", target=channel, status="sent")
    delivery = wait_for(sent.first, message="the delivery recorded as sent")
    # A retry of the same delivery: the same idempotency key, dropped by the server.
    realtime.publish(channel, {"again": True}, realtime.idempotency_key(delivery))
    realtime.publish(channel, {"marker": True})  # a new one, to know the repeat has passed
    wait_for(lambda: len(received.publications) >= 2, message="the marker")
    [first, marker] = received.data  # the rule's payload once, the repeat dropped
    assert (first["rule"], first["event"], first["notification"]) == (
        "joined",
        "created",
        delivery.notification_id,
    )
    assert marker == {"marker": True}


def test_expired_connection_token_is_refused(live: CentrifugoServer, member: Any) -> None:
    expired = jwt.encode(
        {"sub": str(member.pk), "exp": int(time.time()) - 60}, TOKEN_SECRET, algorithm="HS256"
    )
    refused = LiveClient(live.ws_url, expired)
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, it is refused
            refused.connect()
        wait_for(lambda: refused.disconnects or refused.errors, message="the refusal")
        assert refused.client.state.name != "CONNECTED"
    finally:
        refused.close()


def test_another_users_personal_channel_is_refused(
    client: Any, bob: LiveClient, chat_admin: Any
) -> None:
    channel = personal(chat_admin)
    response = client.get(reverse("django_notify_tasks:subscription-token"), {"channel": channel})
    assert response.status_code == 403

    received = bob.start_subscribing(channel)  # the server's own rule, without any token

    wait_for(lambda: received.unsubscribed or received.errors, message="the refusal")
    assert received.subscribed == []


def test_reconnecting_client_recovers_what_it_missed_in_order_once(
    client: Any, bob: LiveClient, member: Any
) -> None:
    channel = personal(member)
    _, received = bob.subscribe(channel, token(client, "subscription-token", channel=channel))
    realtime.publish(channel, {"n": 0})
    wait_for(lambda: received.publications, message="the first publication")

    bob.disconnect()
    for n in (1, 2, 3):
        realtime.publish(channel, {"n": n})
    bob.connect()

    wait_for(lambda: len(received.subscribed) == 2, message="the resubscription")
    assert received.subscribed[-1].recovered is True
    wait_for(lambda: len(received.publications) >= 4, message="the missed publications")
    assert received.data == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
