"""A Centrifugo configuration that matches the Django settings (v5 or v6 layout)."""

from __future__ import annotations

from typing import Any

from django_notify_tasks.conf import app_settings
from django_notify_tasks.paths import PLACEHOLDER
from django_notify_tasks.rules import current_rules

PERSONAL = "personal"


def namespaces() -> list[str]:
    """The namespaces the rules' channels and the digest channel use, plus ``personal``."""
    found = {PERSONAL}
    digest_namespace, colon, _ = (app_settings.digest_channel or "").partition(":")
    if colon:
        found.add(digest_namespace)
    for rule in current_rules().rules.values():
        spec = rule.sections.get("realtime")
        for channel in spec.channels if spec else ():
            namespace, colon, _ = channel.partition(":")
            if colon and not PLACEHOLDER.search(namespace):
                found.add(namespace)
    return sorted(found)


def namespace_options(name: str) -> dict[str, Any]:
    """One namespace: history and forced recovery, so a client that was away catches up."""
    options: dict[str, Any] = {"name": name}
    if name == PERSONAL:
        options["allow_user_limited_channels"] = True
    size = app_settings.centrifugo_history_size
    if size:
        options["history_size"] = size
        options["history_ttl"] = f"{app_settings.centrifugo_history_ttl:g}s"
        options["force_recovery"] = True
    return options


def build_config(version: int, allowed_origins: list[str]) -> dict[str, Any]:
    """The config dict for Centrifugo ``version`` 5 or 6."""
    entries = [namespace_options(name) for name in namespaces()]
    key = app_settings.centrifugo_api_key or ""
    secret = app_settings.centrifugo_token_secret or ""
    if version == 5:
        return {
            "api_key": key,
            "token_hmac_secret_key": secret,
            "allowed_origins": allowed_origins,
            "namespaces": entries,
        }
    return {
        "http_api": {"key": key},
        "client": {"token": {"hmac_secret_key": secret}, "allowed_origins": allowed_origins},
        "channel": {"namespaces": entries},
    }
