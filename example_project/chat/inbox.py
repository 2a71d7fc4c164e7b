"""The SMTP sink's inbox: a maildir that ``smtp_sink.py`` writes and the inbox page reads.

No Django here: the sink imports this module without loading Django.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

# Like Postfix, the sink records the envelope recipients (they may differ from "To"); and
# when it got the message, to the microsecond (file times are too coarse to order by).
ENVELOPE_HEADER = "X-Original-To"
RECEIVED_HEADER = "X-Sink-Received-At"


@dataclass(frozen=True)
class InboxMessage:
    """One received message, as the inbox page shows it."""

    received_at: datetime
    envelope_to: str
    sender: str
    to: str
    subject: str
    message_id: str
    body: str


def store(maildir: Path, envelope_to: Iterable[str], content: bytes) -> str:
    """Add a received message to the maildir (created if missing); return its key."""
    received_at = datetime.now(timezone.utc).isoformat()
    headers = (
        f"{RECEIVED_HEADER}: {received_at}\r\n{ENVELOPE_HEADER}: {', '.join(envelope_to)}\r\n"
    )
    return mailbox.Maildir(maildir, create=True).add(headers.encode() + content)


def read_inbox(maildir: Path, limit: int = 50) -> list[InboxMessage]:
    """The ``limit`` latest messages, newest first; none if nothing was received yet."""
    if not maildir.is_dir():
        return []
    box = mailbox.Maildir(maildir, create=False)
    messages = [read_one(box, key) for key in box.iterkeys()]
    messages.sort(key=lambda message: message.received_at, reverse=True)
    return messages[:limit]


def read_one(box: mailbox.Maildir, key: str) -> InboxMessage:
    message = message_from_bytes(box.get_bytes(key), policy=policy.default)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return InboxMessage(
        received_at=datetime.fromisoformat(str(message[RECEIVED_HEADER])),
        envelope_to=str(message[ENVELOPE_HEADER] or ""),
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        message_id=str(message["Message-ID"] or ""),
        body=plain_text(message),
    )


def plain_text(message: EmailMessage) -> str:
    """The text/plain part (or, failing that, the HTML one) as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content().rstrip() if part is not None else "(no text part)"
