"""Unsubscribe links: a signed token naming a user, a rule and a channel.

The token is made with ``django.core.signing`` under a salt of its own, so no other signed
value of the project can stand in for it. It does not expire (a link in an old message
keeps working, as RFC 8058 expects), but it holds a keyed hash of the user's address: once
the address changes, links sent to the old one stop working.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from django_notify_tasks.conf import app_settings
from django_notify_tasks.people import user_address

SALT = "django_notify_tasks.unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the POST body, and the header's value


class BadToken(Exception):  # noqa: N818 - the view answers 400 with it
    """The token is tampered with, foreign, or its user or address is gone."""


def make_token(user: Any, rule: str, channel: str) -> str:
    """A token that turns ``channel`` of ``rule`` off for ``user``."""
    payload = {"u": str(user.pk), "r": rule, "c": channel, "a": _address_key(user)}
    # A Signer, not signing.dumps: no timestamp, so one person's link is the same in every
    # message (it does not expire), and a test or a host can make it again.
    return signing.Signer(salt=SALT).sign_object(payload, compress=True)


def read_token(token: str) -> tuple[Any, str, str]:
    """``(user, rule, channel)`` of a token, or ``BadToken``."""
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token)
        user = get_user_model()._default_manager.filter(pk=payload["u"]).first()
        rule, channel, key = str(payload["r"]), str(payload["c"]), str(payload["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise BadToken(f"not a valid unsubscribe token ({type(exc).__name__})") from None
    if user is None or not constant_time_compare(key, _address_key(user)):
        raise BadToken("the token's user is gone, or their address has changed")
    return user, rule, channel


def unsubscribe_url(user: Any, rule: str, channel: str) -> str:
    """The absolute link (``NOTIFY_TASKS_SITE_URL``), or "" where none can be made (the
    check E024 reports the missing setting or URLs)."""
    site = app_settings.site_url
    if not site:
        return ""
    try:
        path = reverse("django_notify_tasks:unsubscribe", args=[make_token(user, rule, channel)])
    except NoReverseMatch:
        return ""
    return f"{site}{path}"


def _address_key(user: Any) -> str:
    return salted_hmac(
        f"{SALT}.address", user_address(user).lower(), algorithm="sha256"
    ).hexdigest()[:16]
