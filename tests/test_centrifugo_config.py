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


# History (NOTIFY_TASKS_CENTRIFUGO_HISTORY_SIZE / _TTL) and forced recovery everywhere, so a
# client that was away gets what it missed.
HISTORY = {"history_size": 100, "history_ttl": "3600s", "force_recovery": True}
NAMESPACES = [
    {"name": "chats", **HISTORY},
    {"name": "personal", "allow_user_limited_channels": True, **HISTORY},
    {"name": "staff", **HISTORY},  # NOTIFY_TASKS_DIGEST_CHANNEL's default, "staff:digest"
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


def test_history_follows_the_settings_and_size_zero_turns_it_off(
    settings: Any, realtime_settings: None
) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_HISTORY_SIZE = 20
    settings.NOTIFY_TASKS_CENTRIFUGO_HISTORY_TTL = 90.5
    [chats, *_] = config()["channel"]["namespaces"]
    assert chats == {
        "name": "chats",
        "history_size": 20,
        "history_ttl": "90.5s",
        "force_recovery": True,
    }
    settings.NOTIFY_TASKS_CENTRIFUGO_HISTORY_SIZE = 0
    assert config()["channel"]["namespaces"][0] == {"name": "chats"}
