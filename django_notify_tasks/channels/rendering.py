"""Rendering a notification's content for its recipients, shared by the channels that
render templates per person (email, inapp): resolving the people, rendering once per
language or once per recipient when the templates name ``recipient``, and the one way
template problems become a reason (for a delivery, and for the system check)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils import translation

from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.people import Recipient, language_for

if TYPE_CHECKING:
    from django_notify_tasks.channels.base import Channel
    from django_notify_tasks.models import Delivery, Notification

Rendered = TypeVar("Rendered")
#: A channel's rows by target: a row decided already (skipped, failed), or None for one to
#: render, filled in later in resolution order.
Rows = dict[str, "Delivery | None"]
#: The people to render for, by target.
People = dict[str, Recipient]


def resolve_people(
    channel: Channel,
    notification: Notification,
    resolved: Iterable[tuple[str, Any]],
    take: Callable[[str, Any, Rows, People], None],
) -> tuple[Rows, People]:
    """Go through a rule's resolved ``to`` (``(entry, value)`` pairs, from a generator that
    resolves as it goes): ``take(entry, value, rows, people)`` sorts each value in (the
    channel's own rules: who is reachable, which target wins); a ``to`` that raises fails
    the notification's recipients in one row, ``(recipients)``."""
    rows: Rows = {}
    people: People = {}
    try:
        for entry, value in resolved:
            take(entry, value, rows, people)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        reason = f"recipients could not be resolved: {type(exc).__name__}: {exc}"
        rows.setdefault("(recipients)", channel.failed(notification, "(recipients)", reason))
    return rows, people


def template_problems(load: Callable[[str], Any], parts: Iterable[str]) -> list[str]:
    """What is wrong with the templates ``load(part)`` finds, for the system check."""
    problems = []
    for part in parts:
        try:
            load(part)
        except TemplateDoesNotExist as exc:
            problems.append(f"template {exc} does not exist")
        except TemplateSyntaxError as exc:
            problems.append(f"the {part} template has a syntax error: {exc}")
    return problems


@contextmanager
def template_errors() -> Iterator[None]:
    """Any problem of a template, as the ``PermanentDeliveryError`` its delivery records."""
    try:
        yield
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        raise PermanentDeliveryError(f"template error: {type(exc).__name__}: {exc}") from exc
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        raise PermanentDeliveryError(
            f"template rendering raised {type(exc).__name__}: {exc}"
        ) from exc


class Renderings(Generic[Rendered]):
    """One notification's renderings, made on demand and reused: per language, or per
    recipient and language when ``per_recipient`` (the templates name ``recipient``)."""

    def __init__(
        self,
        render: Callable[[dict[str, Any]], Rendered],
        context: dict[str, Any],
        per_recipient: bool,
    ) -> None:
        self.render, self.context, self.per_recipient = render, context, per_recipient
        self.made: dict[tuple[str, ...], Rendered | PermanentDeliveryError] = {}

    def for_person(
        self, key: str, person: Recipient, **extra: Any
    ) -> Rendered | PermanentDeliveryError:
        """``person``'s rendering under their language (``extra``: more context for
        per-recipient templates), or the error that stopped it."""
        language = language_for(person.user)
        cache_key = (language, key) if self.per_recipient else (language,)
        if cache_key not in self.made:
            personal = {"recipient": person, **extra} if self.per_recipient else {}
            with translation.override(language):
                try:
                    self.made[cache_key] = self.render({**self.context, **personal})
                except PermanentDeliveryError as exc:
                    self.made[cache_key] = exc
        return self.made[cache_key]
