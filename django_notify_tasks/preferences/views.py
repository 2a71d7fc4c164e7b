"""The preferences page and the one-click unsubscribe endpoint; plain HTML forms, no script."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from django_notify_tasks.conf import app_settings
from django_notify_tasks.preferences.api import rule_label, set_enabled, user_preferences
from django_notify_tasks.preferences.digest_choices import digest_choices, set_digest
from django_notify_tasks.preferences.tokens import ONE_CLICK, BadToken, read_token

PACKAGE_BASE = "django_notify_tasks/base.html"


@never_cache
@csrf_protect  # whether or not the host runs CsrfViewMiddleware
@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Every channel of every opt-out rule, with a checkbox, and every rule that lets users
    choose between immediate mail and the digest, with two radio buttons; a POST saves."""
    states, choices = user_preferences(request.user), digest_choices(request.user)
    if request.method == "POST":
        chosen = set(request.POST.getlist("enabled"))
        for state in states:
            wanted = f"{state.rule}:{state.channel}" in chosen
            if wanted != state.enabled:
                set_enabled(request.user, state.rule, state.channel, wanted)
        for choice in choices:
            # A choice left out of the form stays as it is; only the two values count.
            picked = request.POST.get(f"digest:{choice.rule}:{choice.channel}")
            if picked in ("immediate", "digest") and (picked == "digest") != choice.digest:
                set_digest(request.user, choice.rule, choice.channel, picked == "digest")
        return redirect(reverse("django_notify_tasks:preferences") + "?saved=1")
    context = {"preferences": states, "digest_choices": choices, "saved": "saved" in request.GET}
    return _page(request, "preferences", context)


@never_cache
@csrf_exempt  # RFC 8058: mail providers POST without a session or a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button, changing nothing (mail scanners follow links). POST with
    ``List-Unsubscribe=One-Click``: the preference is turned off, no login needed."""
    try:
        user, rule, channel = read_token(token)
    except BadToken:
        return _page(request, "unsubscribe", {"state": "invalid"}, status=400)
    context = {"state": "confirm", "rule": rule_label(rule), "channel": channel}
    if request.method == "GET":
        return _page(request, "unsubscribe", context)
    field, _, value = ONE_CLICK.partition("=")
    if request.POST.get(field) != value:
        return _page(request, "unsubscribe", {**context, "state": "invalid"}, status=400)
    try:
        set_enabled(user, rule, channel, False)
    except ValueError:  # the rule is no longer an opt-out rule: nothing to turn off
        return _page(request, "unsubscribe", {**context, "state": "invalid"}, status=400)
    return _page(request, "unsubscribe", {**context, "state": "done"})


def _page(
    request: HttpRequest, name: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    base = app_settings.base_template or PACKAGE_BASE
    template = f"django_notify_tasks/{name}.html"
    return render(request, template, {**context, "base_template": base}, status=status)
