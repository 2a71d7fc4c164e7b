"""The generated Centrifugo config matches the settings and the rules' namespaces."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture
def realtime_settings(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "api-key"
    settings.NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET = "hmac-secret"
    settings.NOTIFY_TASKS_RULES = {
        "joined": {
            "model": "testapp.Membership",
            "on": ["created"],
            "realtime": {"channels": ["chats:{instance.chat_id}", "personal:#{instance.user_id}"]},
        }
    }


def config(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("notify_tasks_centrifugo_config", *args, stdout=out)
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


NAMESPACES = [
    {"name": "chats"},
    {"name": "personal", "allow_user_limited_channels": True},
    {"name": "staff"},  # NOTIFY_TASKS_DIGEST_CHANNEL's default, "staff:digest"
]


def test_version_6_layout(realtime_settings: None) -> None:
    assert config("--allowed-origin", "https://chat.example") == {
        "http_api": {"key": "api-key"},
        "client": {
            "token": {"hmac_secret_key": "hmac-secret"},
            "allowed_origins": ["https://chat.example"],
        },
        "channel": {"namespaces": NAMESPACES},
    }


def test_version_5_layout_and_origin_from_csrf_settings(
    settings: Any, realtime_settings: None
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://a.example"]
    assert config("--version", "5") == {
        "api_key": "api-key",
        "token_hmac_secret_key": "hmac-secret",
        "allowed_origins": ["https://a.example"],
        "namespaces": NAMESPACES,
    }


def test_missing_secrets_are_a_clear_error(settings: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = None
    with pytest.raises(CommandError, match="NOTIFY_TASKS_CENTRIFUGO_API_KEY"):
        config()


def test_digest_channel_namespace_follows_the_setting(
    settings: Any, realtime_settings: None
) -> None:
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = "ops:digest"
    names = [entry["name"] for entry in config()["channel"]["namespaces"]]
    assert names == ["chats", "ops", "personal"]
    settings.NOTIFY_TASKS_DIGEST_CHANNEL = None
    names = [entry["name"] for entry in config()["channel"]["namespaces"]]
    assert names == ["chats", "personal"]
