"""What an outbox row keeps of its instance: a JSON snapshot of the loaded concrete fields,
minus credentials, narrowed per rule by its ``snapshot`` key.

The worker renders a ``deleted`` event from the snapshot (the row is gone); for the other
events it reloads the instance, so a rule that never handles deletes can keep little.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import ForeignObjectRel

from django_notify_tasks.exceptions import RuleError

ALWAYS_EXCLUDED = frozenset({"password"})  # a credential has no place in a log kept for weeks
# Values of these exact types need no trial encoding (most fields: ids, text, numbers).
JSON_NATIVE = frozenset({str, int, float, bool, type(None)})
HINT = (
    'Give "snapshot": ["field", ...] (only those), {"exclude": ["field", ...]}, or False '
    "(none: a deleted instance can then not be rendered)."
)


@dataclass(frozen=True)
class SnapshotSpec:
    """Attnames to keep (None: every field) and to leave out."""

    include: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()


def parse_snapshot(name: str, value: object, model: type[models.Model]) -> SnapshotSpec:
    """Rule ``name``'s ``snapshot`` key, or ``RuleError`` (E029) naming the problem."""
    if value is None or value is True:
        return SnapshotSpec()
    if value is False:
        return SnapshotSpec(include=frozenset())
    if isinstance(value, list | tuple):
        return SnapshotSpec(include=_attnames(name, value, model))
    if isinstance(value, dict) and set(value) == {"exclude"}:
        return SnapshotSpec(exclude=_attnames(name, value["exclude"], model))
    raise RuleError("E029", f"Rule {name!r}: 'snapshot' cannot be {value!r}.", HINT)


def read_by(model: type[models.Model], names: frozenset[str] | None) -> SnapshotSpec:
    """What a rule without a ``snapshot`` key keeps: the fields its channels read (``names``,
    attributes of the instance), and the primary key; every field when the channels cannot
    tell, or when a name is no field (a property or method may read any field)."""
    if names is None:
        return SnapshotSpec()
    keep = {model._meta.pk.attname}
    for name in names - {"pk"}:
        field = _field(model, name)  # a name or an attname ("chat_id")
        if isinstance(field, models.ManyToManyField | ForeignObjectRel):
            continue  # read from the database by the primary key
        if not isinstance(field, models.Field) or not field.concrete:
            return SnapshotSpec()
        keep.add(field.attname)
    return SnapshotSpec(include=frozenset(keep))


def _field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _attnames(name: str, fields: object, model: type[models.Model]) -> frozenset[str]:
    if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
        raise RuleError("E029", f"Rule {name!r}: 'snapshot' should list field names.", HINT)
    found = []
    for field_name in fields:
        try:
            field = model._meta.get_field(field_name)
        except FieldDoesNotExist:
            field = None
        if not isinstance(field, models.Field) or not field.concrete:
            raise RuleError(
                "E029",
                f"Rule {name!r}: 'snapshot' names {field_name!r}, which is not a concrete "
                f"field of {model.__name__}.",
                HINT,
            )
        found.append(field.attname)
    return frozenset(found)


def take_snapshot(instance: models.Model, spec: SnapshotSpec = SnapshotSpec()) -> dict[str, Any]:
    """The instance's loaded concrete field values that ``spec`` keeps, JSON-safe, without
    touching the database."""
    encoder = DjangoJSONEncoder()
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        attname = field.attname
        if attname not in instance.__dict__ or isinstance(field, models.BinaryField):
            continue  # deferred fields would cost a SELECT; bytes are not JSON
        if field.name in ALWAYS_EXCLUDED or attname in spec.exclude:
            continue
        if spec.include is not None and attname not in spec.include:
            continue
        value = instance.__dict__[attname]
        if type(value) not in JSON_NATIVE:
            try:
                encoder.encode(value)
            except TypeError:
                value = str(value)
        values[attname] = value
    return values
