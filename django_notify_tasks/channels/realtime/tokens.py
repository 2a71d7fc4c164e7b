"""JWTs for browsers: connection tokens and subscription tokens for Centrifugo (HS256)."""

from __future__ import annotations

import time
from typing import Any

from django.utils.module_loading import import_string

from django_notify_tasks.channels.realtime.extra import RealtimeExtraMissing, require
from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import NotifyTasksError


class TokensNotConfigured(NotifyTasksError):
    """``NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET`` is not set."""


def personal_channel(user: Any) -> str:
    """The user-limited channel only this user may read (namespace ``personal``)."""
    return personal_channel_of(user.pk)


def personal_channel_of(user_pk: object) -> str:
    """``personal_channel`` from the user's primary key alone."""
    return f"personal:#{user_pk}"


def connection_token(user: Any) -> str:
    """A token to connect: ``sub`` is the user's pk as a string; never a ``channel`` claim."""
    return _sign({"sub": str(user.pk), "exp": _expiry()})


def subscription_token(user: Any, channel: str) -> str:
    """A token to subscribe ``user`` to exactly ``channel``."""
    return _sign({"sub": str(user.pk), "channel": channel, "exp": _expiry()})


def may_subscribe(user: Any, channel: str) -> bool:
    """Own personal channel always; staff the digest channel; others if the authorizer says so."""
    if channel == personal_channel(user):
        return True
    if channel == app_settings.digest_channel and getattr(user, "is_staff", False):
        return True
    authorizer = app_settings.centrifugo_channel_authorizer
    if authorizer is None:
        return False
    check = import_string(authorizer) if isinstance(authorizer, str) else authorizer
    return bool(check(user, channel))


def _expiry() -> int:
    return int(time.time()) + int(app_settings.centrifugo_token_ttl)


def _sign(claims: dict[str, Any]) -> str:
    secret = app_settings.centrifugo_token_secret
    if not secret:
        raise TokensNotConfigured("NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET is not set")
    try:
        require("jwt")  # PyJWT, the optional realtime extra: the views answer 503 without it
    except RealtimeExtraMissing as exc:
        raise TokensNotConfigured(str(exc)) from exc
    import jwt

    return jwt.encode(claims, secret, algorithm="HS256")
