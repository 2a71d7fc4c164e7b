"""An SMTP server that accepts every message and prints it instead of delivering it.

Usage: python smtp_sink.py [PORT]   (default: $DEMO_SMTP_PORT or 1025, on 127.0.0.1)
"""

import os
import signal
import sys
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class PrintingHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        print(
            f"----- message {message['Message-ID']}\n"
            f"From: {message['From']}\n"
            f"To: {', '.join(envelope.rcpt_tos)}\n"
            f"Subject: {message['Subject']}\n\n"
            f"{text.get_content().rstrip() if text else '(no text part)'}\n"
            "-----",
            flush=True,
        )
        return "250 Message accepted"


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DEMO_SMTP_PORT", "1025"))
    controller = Controller(PrintingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP sink listening on 127.0.0.1:{port}", flush=True)
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
