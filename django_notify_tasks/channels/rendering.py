"""Rendering a notification's content for its recipients, shared by the channels that
render templates per person (email, inapp): once per language, or once per recipient when
the templates name ``recipient``; and the one way template problems become a reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils import translation

from django_notify_tasks.exceptions import PermanentDeliveryError
from django_notify_tasks.people import Recipient, language_for

Rendered = TypeVar("Rendered")


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
