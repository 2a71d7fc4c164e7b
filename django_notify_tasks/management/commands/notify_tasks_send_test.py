"""Send one test email (and Centrifugo publication) now, and print what happened."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_notify_tasks.models import Delivery
from django_notify_tasks.send_test import SendTestError, send_test


class Command(BaseCommand):
    help = (
        "Send one test email to --to (and publish one message to --channel) in this process, "
        "through the mail backend and Centrifugo client deliveries use, and print the result. "
        "It is recorded in the delivery log. Exits non-zero when a send fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, help="Address to send the test email to.")
        parser.add_argument("--channel", help="Centrifugo channel to publish a test message to.")

    def handle(self, *args: Any, to: str, channel: str | None, **options: Any) -> None:
        try:
            sent = send_test(to, channel)
        except SendTestError as exc:
            raise CommandError(str(exc)) from exc
        for delivery in sent:
            self.stdout.write(describe(delivery))
        failed = [d for d in sent if d.status != Delivery.Status.SENT]
        if failed:
            raise CommandError(f"{len(failed)} of {len(sent)} test sends failed.")


def describe(delivery: Delivery) -> str:
    """``email to a@b.example: sent, Message-ID <...>`` or the error."""
    line = f"{delivery.channel} to {delivery.target}: {delivery.status}"
    if delivery.status == Delivery.Status.SENT and delivery.message_id:
        return f"{line}, Message-ID {delivery.message_id}"
    return f"{line}: {delivery.error}" if delivery.error else line
