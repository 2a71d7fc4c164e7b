"""Browser tokens: who gets one, and what it says."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SECRET = "test-hmac-secret-of-enough-length-32b"
CONNECTION = reverse("django_notify_tasks:connection-token")
SUBSCRIPTION = reverse("django_notify_tasks:subscription-token")


@pytest.fixture(autouse=True)
def token_settings(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = SECRET
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_TTL = 600


@pytest.fixture
def bob_client(client: Any) -> Any:
    client.force_login(make_user("bob"))
    return client


def claims(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Cache-Control"].startswith("max-age=0")
    return jwt.decode(response.json()["token"], SECRET, algorithms=["HS256"])


@pytest.mark.parametrize("url", [CONNECTION, SUBSCRIPTION + "?channel=personal:%231"])
def test_anonymous_gets_401_json(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_connection_token_claims(bob_client: Any) -> None:
    bob = bob_client.session["_auth_user_id"]
    decoded = claims(bob_client.get(CONNECTION))
    assert decoded["sub"] == str(bob)
    assert "channel" not in decoded
    assert 590 <= decoded["exp"] - time.time() <= 600


def test_subscription_token_for_own_personal_channel(bob_client: Any) -> None:
    bob = bob_client.session["_auth_user_id"]
    decoded = claims(bob_client.get(SUBSCRIPTION, {"channel": f"personal:#{bob}"}))
    assert (decoded["sub"], decoded["channel"]) == (str(bob), f"personal:#{bob}")


def test_another_users_personal_channel_is_refused(bob_client: Any) -> None:
    alice = make_user("alice")
    response = bob_client.get(SUBSCRIPTION, {"channel": f"personal:#{alice.pk}"})
    assert response.status_code == 403
    assert "token" not in response.json()


def test_authorizer_grants_other_channels(settings: Any, bob_client: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_CHANNEL_AUTHORIZER = lambda user, channel: (
        channel == "chats:1"
    )
    assert claims(bob_client.get(SUBSCRIPTION, {"channel": "chats:1"}))["channel"] == "chats:1"
    assert bob_client.get(SUBSCRIPTION, {"channel": "chats:2"}).status_code == 403


def test_missing_channel_is_400_and_post_is_405(bob_client: Any) -> None:
    assert bob_client.get(SUBSCRIPTION).status_code == 400
    assert bob_client.post(CONNECTION).status_code == 405


def test_missing_secret_is_503_json(settings: Any, bob_client: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = None
    response = bob_client.get(CONNECTION)
    assert response.status_code == 503
    assert "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET" in response.json()["detail"]


def test_template_tag_gives_the_page_its_config(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_WS_URL = "ws://127.0.0.1:8000/connection/websocket"
    request = RequestFactory().get("/")
    request.user = make_user("carol")
    html = Template("{% load notify_tasks %}{% notify_tasks_realtime_config %}").render(
        Context({"request": request})
    )
    payload = html.split(">", 1)[1].rsplit("<", 1)[0]
    assert json.loads(payload) == {
        "wsUrl": "ws://127.0.0.1:8000/connection/websocket",
        "connectionTokenUrl": CONNECTION,
        "subscriptionTokenUrl": SUBSCRIPTION,
        "personalChannel": f"personal:#{request.user.pk}",
        "digestChannel": None,  # carol is not staff
    }


def rendered_config(user: Any) -> dict[str, Any]:
    request = RequestFactory().get("/")
    request.user = user
    html = Template("{% load notify_tasks %}{% notify_tasks_realtime_config %}").render(
        Context({"request": request})
    )
    return json.loads(html.split(">", 1)[1].rsplit("<", 1)[0])  # type: ignore[no-any-return]


def test_staff_get_the_digest_channel_in_the_config_while_realtime_is_on(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = "http://127.0.0.1:8000/api"
    boss = make_user("boss")
    boss.is_staff = True
    assert rendered_config(boss)["digestChannel"] == "staff:digest"
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "chats:ops"
    assert rendered_config(boss)["digestChannel"] == "chats:ops"
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = None
    assert rendered_config(boss)["digestChannel"] is None
