"""Centrifugo JWTs for the logged-in user: ``{"token": ...}`` for centrifuge-js ``getToken``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django_notify_tasks.channels.realtime import tokens
from django_notify_tasks.paths import PLACEHOLDER
from django_notify_tasks.views import json_login_required

View = Callable[..., JsonResponse]


def realtime_configured(view: View) -> View:
    """503 JSON saying what is missing when the token secret is not set."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            return view(request, *args, **kwargs)
        except tokens.TokensNotConfigured as exc:
            return JsonResponse({"detail": f"Realtime is not configured: {exc}."}, status=503)

    return wrapper


@never_cache
@require_GET
@json_login_required
@realtime_configured
def connection_token(request: HttpRequest) -> JsonResponse:
    """``{"token": ...}`` for centrifuge-js ``getToken``."""
    return JsonResponse({"token": tokens.connection_token(request.user)})


@never_cache
@require_GET
@json_login_required
@realtime_configured
def subscription_token(request: HttpRequest) -> JsonResponse:
    """``{"token": ...}`` for ``?channel=...`` if the user may read it; 403 otherwise."""
    channel = request.GET.get("channel", "")
    if not channel or PLACEHOLDER.search(channel):
        return JsonResponse({"detail": "Give the channel as ?channel=..."}, status=400)
    if not tokens.may_subscribe(request.user, channel):
        return JsonResponse({"detail": f"You may not subscribe to {channel!r}."}, status=403)
    return JsonResponse({"token": tokens.subscription_token(request.user, channel)})
