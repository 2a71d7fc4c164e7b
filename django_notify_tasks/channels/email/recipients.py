"""Who an email goes to: the rule's ``to`` entries resolved on the instance, and checked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, models

from django_notify_tasks.channels.base import MAX_TARGET_LENGTH
from django_notify_tasks.channels.email.spec import Recipient as ToEntry
from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.paths import resolve_path
from django_notify_tasks.people import Recipient, is_user, reachable_address

logger = logging.getLogger(__name__)


class HasRecipients(Protocol):
    """A parsed section with a ``to`` (email's, and the inbox's, which reuses it)."""

    @property
    def to(self) -> tuple[ToEntry, ...] | Callable[[models.Model], Any]: ...


def resolve_recipients(spec: HasRecipients, instance: models.Model) -> Iterator[tuple[str, Any]]:
    """Yield ``(entry, address or user)`` pairs; an entry that cannot be resolved raises with
    its name."""
    entries: Sequence[Any] = spec.to if isinstance(spec.to, tuple) else (spec.to,)
    for entry in entries:
        for value in _resolve_entry(entry, instance):
            yield _describe(entry), value


def _resolve_entry(entry: Any, instance: models.Model) -> list[Any]:
    if callable(entry):
        found = entry(instance)
        return [found] if isinstance(found, str | models.Model) else list(found or [])
    if "@" in entry:
        return [entry]
    return resolve_path(instance, entry)


def _describe(entry: Any) -> str:
    return entry if isinstance(entry, str) else getattr(entry, "__qualname__", repr(entry))


def to_recipient(value: object) -> Recipient:
    """A resolved value as a ``Recipient``: an address checked, or a user with the address of
    their email field; ``NotReachable`` for a user not sent to, ``PermanentDeliveryError``
    for an address that cannot be used."""
    if is_user(value):
        return Recipient(check_address(reachable_address(value)), value)
    return Recipient(check_address(value))


def check_address(address: object) -> str:
    """The address, stripped, or ``PermanentDeliveryError`` saying why it cannot be used."""
    if not isinstance(address, str) or not address.strip():
        raise PermanentDeliveryError(f"no email address (the recipient resolved to {address!r})")
    try:
        validate_email(address.strip())
    except ValidationError:
        raise PermanentDeliveryError(f"invalid email address {address!r}") from None
    if len(address.strip()) > MAX_TARGET_LENGTH:
        raise PermanentDeliveryError(f"email address longer than {MAX_TARGET_LENGTH} characters")
    return address.strip()


def path_names(spec: HasRecipients) -> frozenset[str] | None:
    """The attributes of the instance the ``to`` paths start from (``"chat.admin"``: ``chat``);
    None when a callable chooses the recipients."""
    if callable(spec.to):
        return None
    paths = [entry for entry in spec.to if isinstance(entry, str)]
    if len(paths) < len(spec.to):
        return None
    return frozenset(path.split(".")[0] for path in paths if "@" not in path)


def prefetch_relations(spec: HasRecipients, instances: list[models.Model]) -> None:
    """Load the relations the ``to`` paths walk (``"admin.email"``: ``admin``; ``"members"``,
    a path to users: ``members``) for a batch of instances, one query per relation, instead
    of one per notification; templates that use the same relation find it loaded too. A
    path that is no relation (a property, a method) is left to be resolved row by row, as
    without a batch."""
    if callable(spec.to):
        return
    for entry in spec.to:
        if not isinstance(entry, str) or "@" in entry:
            continue
        # The whole path when it ends on a relation (users), else up to the last attribute.
        for path in (entry, entry.rpartition(".")[0]):
            if path and _prefetched(instances, path.replace(".", "__")):
                break


def _prefetched(instances: list[models.Model], lookup: str) -> bool:
    try:
        models.prefetch_related_objects(instances, lookup)
    except DatabaseError:
        raise
    except Exception:  # no relation (AttributeError, ValueError), or user code
        logger.debug("%r is not prefetched", lookup, exc_info=True)
        return False
    return True
