"""The inbox's JSON endpoints: a page of items with the unread count, and marking read."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from django_notify_tasks.channels.inapp.live import item_json
from django_notify_tasks.inbox.queries import MAX_PAGE_SIZE, PAGE_SIZE, items_page, mark_read
from django_notify_tasks.inbox.queries import unread_count as count_unread
from django_notify_tasks.views import json_login_required


def _bad(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=400)


@never_cache
@require_GET
@json_login_required
def inbox(request: HttpRequest) -> JsonResponse:
    """``{"unread", "items", "next"}``; ``?cursor=`` the next page, ``?unread=1`` unread only,
    ``?size=`` items per page (at most 100)."""
    try:
        size = int(request.GET.get("size", PAGE_SIZE))
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size should be from 1 to {MAX_PAGE_SIZE}, not {size}")
        page = items_page(
            request.user,
            cursor=request.GET.get("cursor"),
            unread=request.GET.get("unread") in ("1", "true"),
            size=size,
        )
    except ValueError as exc:
        return _bad(str(exc))
    return JsonResponse(
        {
            "unread": count_unread(request.user),
            "items": [item_json(item) for item in page.items],
            "next": page.next,
        }
    )


@never_cache
@csrf_protect  # whether or not the host runs CsrfViewMiddleware
@require_POST
@json_login_required
def inbox_read(request: HttpRequest) -> JsonResponse:
    """``{"ids": [...]}`` or ``{"all": true}`` -> ``{"unread": N}``; CSRF-protected."""
    try:
        body: Any = json.loads(request.body or b"{}")
    except ValueError:
        return _bad("The body should be JSON.")
    if isinstance(body, dict) and body.get("all") is True:
        return JsonResponse({"unread": mark_read(request.user)})
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(type(pk) is int for pk in ids):
        return _bad('The body should be {"ids": [<item id>, ...]} or {"all": true}.')
    return JsonResponse({"unread": mark_read(request.user, ids)})
