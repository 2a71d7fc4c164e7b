"""The ``email`` section of a rule: who gets the message and which templates make it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from django_notify_tasks.channels.email.digest_spec import (
    Digest,
    Throttle,
    parse_digest,
    parse_throttle,
)
from django_notify_tasks.channels.email.options import (
    MESSAGE_KEYS,
    MessageOptions,
    parse_message_options,
)
from django_notify_tasks.exceptions import RuleError
from django_notify_tasks.paths import validate_path
from django_notify_tasks.rules import parse_callable

EMAIL_KEYS = (
    frozenset(
        {"to", "template", "subject", "body", "html", "max_recipients", "digest", "throttle"}
    )
    | MESSAGE_KEYS
)
Recipient = str | Callable[[models.Model], Any]


@dataclass(frozen=True)
class EmailSpec:
    """Where an email goes and what it says."""

    to: tuple[Recipient, ...] | Callable[[models.Model], Any]
    template: str | None = None
    subject: str | None = None
    body: str | None = None
    html: str | None = None
    #: More distinct recipients than this fail the notification's email (None: the setting).
    max_recipients: int | None = None
    digest: Digest | None = None
    throttle: Throttle | None = None
    #: Sender, reply-to, copies, headers, attachments, mailer (``options.py``).
    message: MessageOptions = MessageOptions()


def parse_email_section(
    name: str, spec: Mapping[str, Any], model: type[models.Model]
) -> EmailSpec:
    has_template = spec.get("template") is not None
    has_inline = any(spec.get(key) is not None for key in ("subject", "body", "html"))
    if has_template == has_inline or (
        has_inline and not (spec.get("subject") and spec.get("body"))
    ):
        raise RuleError(
            "E008",
            f"Rule {name!r}: 'email' should have either 'template' or both 'subject' and 'body'.",
            'Give "template": "app/email/name" (files <name>_subject.txt, <name>.txt, '
            'optional <name>.html) or inline "subject" and "body" templates.',
        )
    cap = spec.get("max_recipients")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise RuleError(
            "E030",
            f"Rule {name!r}: 'email.max_recipients' should be a positive integer, not {cap!r}.",
            "Give the most distinct recipients one notification may have, or leave it out "
            "for NOTIFY_TASKS_MAX_RECIPIENTS.",
        )
    return EmailSpec(
        max_recipients=cap,
        to=_parse_recipients(name, spec.get("to"), model),
        template=spec.get("template"),
        subject=spec.get("subject"),
        body=spec.get("body"),
        html=spec.get("html"),
        digest=parse_digest(name, spec.get("digest")),
        throttle=parse_throttle(name, spec.get("throttle")),
        message=parse_message_options(name, spec),
    )


def _parse_recipients(
    name: str, to: object, model: type[models.Model]
) -> tuple[Recipient, ...] | Callable[[models.Model], Any]:
    if isinstance(to, str) or callable(to):
        return parse_callable(name, "email.to", to)  # type: ignore[no-any-return]
    if not isinstance(to, list | tuple) or not to:
        raise RuleError(
            "E007",
            f"Rule {name!r}: 'email.to' should be a non-empty list, not {to!r}.",
            'List attribute paths ("chat.admin.email"), addresses, or give a callable.',
        )
    for entry in to:
        if isinstance(entry, str) and "@" not in entry:
            validate_path(name, model, entry)
        elif not isinstance(entry, str) and not callable(entry):
            raise RuleError(
                "E007", f"Rule {name!r}: {entry!r} in 'email.to' is not a path or address."
            )
    return tuple(to)
