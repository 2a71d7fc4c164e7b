"""The demo's SMTP sink keeps what it receives in a maildir that the inbox page reads."""

from __future__ import annotations

import smtplib
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.services import free_port

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Path, Any]]:
    """smtp_sink.py's handler on a free port; its maildir; the chat.inbox module."""
    monkeypatch.syspath_prepend(str(EXAMPLE_PROJECT))
    import smtp_sink

    from chat import inbox

    maildir = tmp_path / "mail"
    port = free_port()
    controller = Controller(smtp_sink.KeepingHandler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, maildir, inbox
    controller.stop()
    sys.modules.pop("smtp_sink")


def send(port: int, subject: str, to: list[str], body: str = "Hello") -> None:
    message = EmailMessage()
    message["From"] = "Chat demo <notifications@chat.example>"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@chat.example>"
    message.set_content(body)
    message.add_alternative(f"<p>{body}</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message, to_addrs=[*to, "bcc@chat.example"])


def test_sink_keeps_each_message_for_the_inbox_newest_first(sink: Any) -> None:
    port, maildir, inbox = sink
    assert inbox.read_inbox(maildir) == []  # nothing received yet
    send(port, "bob joined General", ["alice@chat.example"], "bob joined")
    send(port, "carol joined Random", ["alice@chat.example"], "carol joined")

    first, second = inbox.read_inbox(maildir)
    assert first.subject == "carol joined Random"
    assert first.sender == "Chat demo <notifications@chat.example>"
    assert first.to == "alice@chat.example"
    assert first.envelope_to == "alice@chat.example, bcc@chat.example"
    assert first.message_id == "<carol-joined-Random@chat.example>"
    assert first.body == "carol joined"  # the text part, not the HTML one
    assert second.subject == "bob joined General"
    assert first.received_at >= second.received_at


def test_inbox_shows_at_most_the_limit(sink: Any) -> None:
    port, maildir, inbox = sink
    for number in range(3):
        send(port, f"message {number}", ["alice@chat.example"])
    assert len(inbox.read_inbox(maildir, limit=2)) == 2
