"""The people a rule reaches: a resolved recipient (an address, and the user behind it when
there is one) and the language its content is rendered in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string

from django_notify_tasks.conf import app_settings


@dataclass(frozen=True)
class Recipient:
    """``recipient`` in templates: ``address``, and ``user`` (None for a bare address)."""

    address: str
    user: Any = None


class NotReachable(Exception):  # noqa: N818 - a reason, not an error: the row is "skipped"
    """A user who is not sent to: inactive, or without an address."""

    def __init__(self, user: Any, reason: str) -> None:
        super().__init__(reason)
        self.user, self.reason = user, reason

    @property
    def target(self) -> str:
        return user_address(self.user) or f"user #{self.user.pk}"


def is_user(value: object) -> bool:
    """Whether a resolved recipient is a user object rather than an address."""
    return isinstance(value, get_user_model())


def user_address(user: Any) -> str:
    """The address in the user model's email field (``get_email_field_name()``), stripped."""
    return str(getattr(user, user.get_email_field_name(), "") or "").strip()


def reachable_address(user: Any) -> str:
    """The user's address, or ``NotReachable`` saying why the user is not sent to."""
    if not getattr(user, "is_active", True):  # custom user models may lack the field
        raise NotReachable(user, "the user is inactive")
    address = user_address(user)
    if not address:
        raise NotReachable(user, "the user has no email address")
    return address


def language_for(user: Any) -> str:
    """The language ``user``'s content is rendered in: ``NOTIFY_TASKS_RECIPIENT_LANGUAGE``'s
    answer, or ``LANGUAGE_CODE`` when it gives None, is not set, or there is no user."""
    getter = _language_getter(app_settings.recipient_language)
    code = getter(user) if getter is not None and user is not None else None
    return code or app_settings.language_code


@functools.lru_cache(maxsize=8)
def _language_getter(path: str | None) -> Callable[[Any], str | None] | None:
    # Cached per value of the setting (read live); the check (E025) reports a bad path.
    return None if not path else import_string(path)
