"""Resolve attribute paths such as ``"chat.admin.email"`` on an instance, in the worker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


def resolve_path(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` leads to from ``obj``, fanning out over managers and lists.

    ``"chat.members.email"`` gives the email of every member; a ``None`` along the way gives
    nothing; a bound method without arguments is called.
    """
    return _resolve(obj, path.split("."))


def _resolve(obj: Any, parts: list[str]) -> list[Any]:
    if obj is None:
        return []
    if not parts:
        return list(_flatten(obj))
    value = getattr(obj, parts[0])
    if callable(value) and not isinstance(value, models.Manager | models.QuerySet):
        value = value()
    return [found for item in _flatten(value) for found in _resolve(item, parts[1:])]


def _flatten(value: Any) -> Iterable[Any]:
    if isinstance(value, models.Manager):
        return value.all()
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return value
    return [value]
