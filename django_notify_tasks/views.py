"""JSON endpoints for pages: the task status for staff, and the login guard every endpoint uses.

The Centrifugo token endpoints are the realtime channel's (``channels/realtime/views.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django_notify_tasks import task_status as status

View = Callable[..., JsonResponse]
logger = logging.getLogger(__name__)


def json_login_required(view: View) -> View:
    """401 JSON instead of a redirect to the login page: these are called by scripts."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "Authentication required."}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def json_staff_required(view: View) -> View:
    """401 JSON for anonymous users, 403 JSON for users who are not staff."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not getattr(request.user, "is_staff", False):  # custom user models may lack it
            return JsonResponse({"detail": "Only staff may see task states."}, status=403)
        return view(request, *args, **kwargs)

    return json_login_required(wrapper)


@never_cache
@require_GET
@json_staff_required
def task_status(request: HttpRequest, task_id: str) -> JsonResponse:
    """``{"id", "state", "progress", "result", "error"}`` of a task whose id the site signed
    (``task_status.status_url``); 404 for any other id, 503 without a backend."""
    real_id = status.unsign(task_id)
    if real_id is None:
        return JsonResponse(
            {"detail": "No such task status: use task_status.status_url()."}, status=404
        )
    try:
        found = status.task_status(real_id)
    except status.NoResultBackend as exc:
        return JsonResponse({"detail": f"{exc}."}, status=503)
    except Exception as exc:  # the backend is down or refuses: say so, as JSON
        logger.warning("Could not read the state of task %s", task_id, exc_info=True)
        detail = f"The result backend could not be read: {type(exc).__name__}: {exc}"
        return JsonResponse({"detail": detail}, status=503)
    return JsonResponse(found, encoder=DjangoJSONEncoder)
