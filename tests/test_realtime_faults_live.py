"""Faults on the real Centrifugo, with a real worker: the server stopped during a burst of
publications, and a wrong API key.

A server restarted with its default memory engine forgets its history and its idempotency
keys (tests/test_centrifugo_real_server.py shows it), so a restart-safe "none twice" needs
the Redis engine: the burst runs on a server of its own, the generated config plus
``engine.type=redis`` from the environment, on the session's Redis under a prefix of its own.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from django_notify_tasks.channels.realtime import publish as realtime
from django_notify_tasks.models import Delivery
from tests.conftest import make_user
from tests.support.centrifugo_server import (
    REALTIME_RULES,
    TOKEN_SECRET,
    CentrifugoServer,
    generated_config,
)
from tests.support.realtime_client import LiveClient
from tests.support.services import RedisServer, wait_for
from tests.testapp.models import Chat, Membership

pytestmark = [
    pytest.mark.centrifugo,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

SENT, FAILED, RETRYING = Delivery.Status.SENT, Delivery.Status.FAILED, Delivery.Status.RETRYING
BURST = 40  # memberships, so 40 notifications with two channels each


def use_server(settings: Any, server: CentrifugoServer, api_key: str | None = None) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = server.api_url
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = server.api_key if api_key is None else api_key
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = TOKEN_SECRET
    settings.NOTIFY_TASKS_RULES = REALTIME_RULES
    settings.NOTIFY_TASKS_CENTRIFUGO_TIMEOUT = 2
    # Short retries that never give up during the outage.
    settings.NOTIFY_TASKS_RETRY_BACKOFF = 0.05
    settings.NOTIFY_TASKS_RETRY_BACKOFF_MAX = 0.5
    settings.NOTIFY_TASKS_MAX_RETRIES = 100


@pytest.fixture
def restartable(
    settings: Any, redis_server: RedisServer, centrifugo_binary: Path
) -> Iterator[CentrifugoServer]:
    """A real Centrifugo on the Redis engine: history and idempotency keys outlive a restart."""
    engine = {
        "CENTRIFUGO_ENGINE_TYPE": "redis",
        "CENTRIFUGO_ENGINE_REDIS_ADDRESS": f"redis://127.0.0.1:{redis_server.port}",
        "CENTRIFUGO_ENGINE_REDIS_PREFIX": f"centrifugo-{uuid.uuid4().hex[:8]}",
    }
    server = CentrifugoServer(centrifugo_binary, generated_config(), env=engine)
    server.start()
    use_server(settings, server)
    yield server
    server.stop()
    realtime.client().close()
    realtime._client.cache_clear()


def subscription_token(user: Any, channel: str) -> str:
    claims = {"sub": str(user.pk), "channel": channel, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


def connection_token(user: Any) -> str:
    claims = {"sub": str(user.pk), "exp": int(time.time()) + 3600}
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


def realtime_rows(**filters: Any) -> Any:
    return Delivery.objects.filter(channel=Delivery.Channel.REALTIME, **filters)


def test_server_stopped_during_a_burst_delivers_everything_once_after_restart(
    celery_worker: Any, restartable: CentrifugoServer, chat: Chat, chat_admin: Any
) -> None:
    members = [make_user(f"reader{n:02}") for n in range(BURST)]
    channel = f"chats:{chat.pk}"
    watcher = LiveClient(restartable.ws_url, connection_token(chat_admin), max_reconnect_delay=0.5)
    try:
        watcher.connect()
        _, received = watcher.subscribe(channel, subscription_token(chat_admin, channel))

        for member in members[: BURST // 2]:  # each in its own transaction: one task each
            Membership.objects.create(chat=chat, user=member)
        wait_for(lambda: received.publications, message="the burst's first publications")
        restartable.stop()
        for member in members[BURST // 2 :]:
            Membership.objects.create(chat=chat, user=member)
        # Connection refused: a transient error, recorded, and the delivery is retried.
        waiting = realtime_rows(status=RETRYING, error__startswith="CentNetworkError")
        wait_for(waiting.exists, timeout=30, message="a delivery retrying while it is down")
        assert not realtime_rows(status=FAILED).exists()
        in_flight = realtime_rows().exclude(status=SENT).count()
        assert in_flight > 0

        restartable.start()
        wait_for(
            lambda: realtime_rows(status=SENT).count() == 2 * BURST,
            timeout=60,
            message="every delivery sent after the restart",
        )
        assert not realtime_rows().exclude(status=SENT).exists()
        assert realtime_rows(attempts__gt=1).exists()  # sent by a retry
        notifications = set(realtime_rows().values_list("notification_id", flat=True))
        assert len(notifications) == BURST

        # The real client: resubscribed by itself, recovered what it missed, each once.
        wait_for(lambda: len(received.subscribed) >= 2, message="the resubscription")
        assert received.subscribed[-1].recovered is True
        wait_for(lambda: len(received.publications) >= BURST, message="all of the burst")
        seen = Counter(data["notification"] for data in received.data)
        assert set(seen) == notifications
        assert max(seen.values()) == 1
        offsets = [offset for offset, _ in received.publications]
        assert offsets == list(range(1, BURST + 1))  # gapless, in the server's order
    finally:
        watcher.close()

    # The server's history API agrees, for the chat's channel and every personal channel.
    history = Counter(data["notification"] for data in restartable.history(channel))
    assert history == dict.fromkeys(notifications, 1)
    for member in members:
        [data] = restartable.history(f"personal:#{member.pk}")
        assert data["event"] == "created"


def test_a_wrong_api_key_is_a_401_and_a_permanent_failure_with_the_reason(
    settings: Any,
    celery_worker: Any,
    centrifugo_server: CentrifugoServer,
    chat: Chat,
    member: Any,
) -> None:
    import requests

    use_server(settings, centrifugo_server, api_key="not-the-servers-key")
    try:
        # What the real server answers: a bare 401, no body, no error code.
        answer = requests.post(
            f"{centrifugo_server.api_url}/publish",
            json={"channel": f"chats:{chat.pk}", "data": {}},
            headers={"X-API-Key": "not-the-servers-key"},
            timeout=5,
        )
        assert (answer.status_code, answer.content) == (401, b"")

        Membership.objects.create(chat=chat, user=member)

        rows = wait_for(
            lambda: (
                list(realtime_rows(status=FAILED))
                if realtime_rows().count() == 2
                and not realtime_rows().exclude(status=FAILED).exists()
                else None
            ),
            message="both deliveries failed",
        )
    finally:
        realtime.client().close()
        realtime._client.cache_clear()
    assert sorted(row.target for row in rows) == [f"chats:{chat.pk}", f"personal:#{member.pk}"]
    for row in rows:
        assert row.attempts == 1  # permanent: never retried
        assert row.error == realtime.UNAUTHORIZED
        assert "NOTIFY_TASKS_CENTRIFUGO_API_KEY" in row.error
    assert centrifugo_server.history(f"chats:{chat.pk}") == []  # nothing was published
