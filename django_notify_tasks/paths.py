"""Attribute paths such as ``"chat.admin.email"``: checked on the model classes when rules are
parsed, resolved on an instance in the worker."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from django_notify_tasks.exceptions import RuleError, UnsafePathError

# Channel templates allow attribute access only: "personal:#{instance.chat.admin_id}".
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDER_PATH = re.compile(r"^(instance|related|notification)(\.[A-Za-z]\w*)*$")


def resolve_path(obj: Any, path: str) -> list[Any]:
    """Every value ``path`` leads to from ``obj``, fanning out over managers and lists.

    ``"chat.members.email"`` gives the email of every member; a ``None`` along the way gives
    nothing; a bound method without arguments is called. As in Django templates, a part
    starting with ``_`` and a method marked ``alters_data`` (``delete``, ``save``) raise
    ``UnsafePathError`` instead of being read or called.
    """
    return _resolve(obj, path.split("."))


def _resolve(obj: Any, parts: list[str]) -> list[Any]:
    if obj is None:
        return []
    if not parts:
        return list(_flatten(obj))
    value = getattr(obj, _public(parts[0]))
    if callable(value) and not isinstance(value, models.Manager | models.QuerySet):
        if getattr(value, "alters_data", False):
            raise UnsafePathError(f"{parts[0]!r} alters data (alters_data): it is never called")
        value = value()
    return [found for item in _flatten(value) for found in _resolve(item, parts[1:])]


def _public(part: str) -> str:
    if part.startswith("_"):
        raise UnsafePathError(f"{part!r} starts with '_': private attributes are not read")
    return part


def _flatten(value: Any) -> Iterable[Any]:
    if isinstance(value, models.Manager):
        return value.all()
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return value
    return [value]


def validate_path(name: str, model: type[models.Model], path: str, check_id: str = "E007") -> None:
    """Check each step of ``path`` on the model classes, as far as relations lead."""
    current: type[models.Model] | None = model
    for part in path.split("."):
        if part.startswith("_"):
            raise RuleError(
                check_id,
                f"Rule {name!r}: {path!r} cannot be used: {part!r} starts with '_'.",
                "Paths read public fields, properties and methods only, as Django templates do.",
            )
        if getattr(getattr(current, part, None), "alters_data", False):
            raise RuleError(
                check_id,
                f"Rule {name!r}: {path!r} cannot be used: {part!r} alters data "
                "(alters_data = True, like delete() and save()).",
                "Paths never call methods that change data; name a field or a property.",
            )
        if current is None:
            return  # past a plain attribute the type is unknown; resolved in the worker
        try:
            step = current._meta.get_field(part)
        except FieldDoesNotExist:
            if not part.isidentifier() or not hasattr(current, part):
                raise RuleError(
                    check_id,
                    f"Rule {name!r}: {path!r} cannot be resolved: {part!r} is not a field "
                    f"or attribute of {current.__name__}.",
                    f"Use fields and attributes of {current._meta.label}.",
                ) from None
            current = None
            continue
        if not hasattr(current, part):  # a reverse relation's query name, not its accessor
            raise RuleError(
                check_id,
                f"Rule {name!r}: {path!r} cannot be resolved: {current.__name__} has no "
                f"attribute {part!r}.",
                f"Use the accessor name (e.g. {part}_set), not the query name.",
            )
        current = step.related_model if step.is_relation else None
