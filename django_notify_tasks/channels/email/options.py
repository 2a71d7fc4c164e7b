"""Per-rule message options of an email section: sender, reply-to, copies, headers,
attachments and mailer. Parsed with the rule; stored on each Delivery row when it is built
(``Delivery.options``), so a retry sends the same message; applied when it is sent."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import django
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import models

from django_notify_tasks.conf import app_settings
from django_notify_tasks.exceptions import PermanentDeliveryError, RuleError
from django_notify_tasks.rules import parse_callable

MESSAGE_KEYS = frozenset(
    {"from_email", "reply_to", "cc", "bcc", "headers", "attachments", "mailer"}
)
# Set by the package or by their own keys: a rule's "headers" may not set them.
RESERVED_HEADERS = frozenset(
    {"message-id", "from", "to", "cc", "bcc", "reply-to", "subject", "list-unsubscribe",
     "list-unsubscribe-post", "content-type", "mime-version"}
)  # fmt: skip
HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322: printable ASCII but ":"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # per message: past it the row fails with the reason
HINT = "See 'Message options' in docs/rules.md."


@dataclass(frozen=True)
class MessageOptions:
    """What a rule adds to each of its messages."""

    from_email: str | None = None
    reply_to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: Callable[[models.Model, Any], Any] | None = None
    mailer: str | None = None


def parse_message_options(name: str, spec: Mapping[str, Any]) -> MessageOptions:
    """The message options of rule ``name``'s email section, or ``RuleError`` (E033)."""
    mailer = spec.get("mailer")
    if mailer is not None and (not isinstance(mailer, str) or django.VERSION < (6, 1)):
        _refuse(name, "mailer", mailer, "needs a MAILERS alias, which Django 6.1 introduced")
    mailers = app_settings.django_mailers
    if mailer is not None and mailers is not None and mailer not in mailers:
        _refuse(name, "mailer", mailer, f"is not in MAILERS ({sorted(mailers)!r})")
    return MessageOptions(
        from_email=_address(name, "from_email", spec.get("from_email")),
        reply_to=_addresses(name, "reply_to", spec.get("reply_to")),
        cc=_addresses(name, "cc", spec.get("cc")),
        bcc=_addresses(name, "bcc", spec.get("bcc")),
        headers=_headers(name, spec.get("headers")),
        attachments=parse_callable(name, "email.attachments", spec.get("attachments")),
        mailer=mailer,
    )


def _refuse(name: str, key: str, value: object, why: str) -> NoReturn:
    raise RuleError("E033", f"Rule {name!r}: 'email.{key}' {value!r} {why}.", HINT)


def _address(name: str, key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        _refuse(name, key, value, "should be an address on one line")
    try:
        validate_email(value.rpartition("<")[2].rstrip(">").strip())
    except ValidationError:
        _refuse(name, key, value, "is not a valid address")
    return str(value)


def _addresses(name: str, key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple):
        _refuse(name, key, value, "should be an address or a list of them")
    return tuple(_address(name, key, entry) or "" for entry in values)


def _headers(name: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        _refuse(name, "headers", value, "should be a dict of header name to value")
    headers: dict[str, str] = {}
    for header, text in value.items():
        if not isinstance(header, str) or not HEADER_NAME.match(header):
            _refuse(name, "headers", header, "is not a header name")
        if header.lower() in RESERVED_HEADERS:
            _refuse(name, "headers", header, "is set by the package or by its own key")
        if not isinstance(text, str) or "\r" in text or "\n" in text:
            _refuse(name, "headers", text, f"(for {header}) should be text on one line")
        headers[header] = text
    return headers


def stored_options(
    options: MessageOptions, instance: models.Model, recipient: Any
) -> dict[str, Any]:
    """What ``options`` puts on one recipient's row (JSON); attachments are made now, so a
    retry sends the same files. ``PermanentDeliveryError`` when they cannot be made."""
    stored: dict[str, Any] = {
        key: value
        for key, value in (
            ("from_email", options.from_email),
            ("reply_to", list(options.reply_to)),
            ("cc", list(options.cc)),
            ("bcc", list(options.bcc)),
            ("mailer", options.mailer),
        )
        if value
    }
    if options.headers:
        stored["headers"] = dict(options.headers)
    if options.attachments is not None:
        stored["attachments"] = _attachments(options.attachments, instance, recipient)
    return stored


def _attachments(make: Callable[..., Any], instance: models.Model, recipient: Any) -> list[Any]:
    try:
        files = [
            (str(n), c.encode() if isinstance(c, str) else bytes(c), str(t))
            for n, c, t in make(instance, recipient)
        ]
    except Exception as exc:
        raise PermanentDeliveryError(f"attachments raised {type(exc).__name__}: {exc}") from exc
    size = sum(len(content) for _, content, _ in files)
    if size > MAX_ATTACHMENT_BYTES:
        raise PermanentDeliveryError(
            f"attachments of {size} bytes, more than {MAX_ATTACHMENT_BYTES} per message"
        )
    return [[name, base64.b64encode(content).decode(), kind] for name, content, kind in files]


def apply_options(message: EmailMultiAlternatives, options: Mapping[str, Any]) -> None:
    """Put a row's stored options on its message (headers are set when it is made)."""
    message.from_email = options.get("from_email") or message.from_email
    message.reply_to = list(options.get("reply_to", []))
    message.cc = list(options.get("cc", []))
    message.bcc = list(options.get("bcc", []))
    for name, content, kind in options.get("attachments", []):
        message.attach(name, base64.b64decode(content), kind)
