"""The staff dashboard page (``django_notify_tasks:dashboard``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django_notify_tasks.dashboard.page import build_dashboard
from django_notify_tasks.dashboard.periods import CHOICES, dashboard_period

PageView = Callable[..., HttpResponse]


def staff_page(view: PageView) -> PageView:
    """Anonymous users go to the login page (the admin's when it is installed); users who
    are not staff get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url())
        if not getattr(request.user, "is_staff", False):  # custom user models may lack it
            raise PermissionDenied("Only staff may see the notification dashboard.")
        return view(request, *args, **kwargs)

    return wrapper


def login_url() -> str | None:
    try:
        return reverse("admin:login")
    except NoReverseMatch:
        return None  # settings.LOGIN_URL


def admin_context(request: HttpRequest) -> dict[str, Any]:
    """The admin's header and navigation, when the page is rendered inside it."""
    from django.contrib import admin

    try:
        return dict(admin.site.each_context(request))
    except NoReverseMatch:  # the host does not route the admin
        return {}


@never_cache
@require_GET
@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    """Deliveries, failures, delays, the backlog and users for the chosen period."""
    period = dashboard_period(request.GET.get("period"))
    context = {
        **admin_context(request),
        "title": "Notifications dashboard",
        "dashboard": build_dashboard(period),
        "choices": CHOICES.values(),
        "chosen": period.choice.key,
    }
    return render(request, "django_notify_tasks/dashboard.html", context)
