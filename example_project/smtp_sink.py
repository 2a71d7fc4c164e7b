"""An SMTP server that accepts every message and keeps it instead of delivering it.

Usage: python smtp_sink.py [PORT [MAILDIR]]
(defaults: $DEMO_SMTP_PORT or 1025, on 127.0.0.1; var/mail under $DEMO_VAR_DIR or here)

Each message is printed and stored in MAILDIR, which the site's inbox page (/inbox/) reads.
"""

import os
import signal
import sys
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

from chat import inbox


class KeepingHandler:
    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        inbox.store(self.maildir, envelope.rcpt_tos, envelope.original_content)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        print(
            f"----- message {message['Message-ID']}\n"
            f"From: {message['From']}\n"
            f"To: {', '.join(envelope.rcpt_tos)}\n"
            f"Subject: {message['Subject']}\n\n"
            f"{inbox.plain_text(message)}\n"
            "-----",
            flush=True,
        )
        return "250 Message accepted"


def default_maildir() -> Path:
    var = os.environ.get("DEMO_VAR_DIR") or Path(__file__).resolve().parent / "var"
    return Path(var) / "mail"


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DEMO_SMTP_PORT", "1025"))
    maildir = Path(sys.argv[2]) if len(sys.argv) > 2 else default_maildir()
    controller = Controller(KeepingHandler(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP sink listening on 127.0.0.1:{port}, keeping messages in {maildir}", flush=True)
    # honcho stops its processes with SIGTERM: treat it like Ctrl-C to stop the server cleanly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
