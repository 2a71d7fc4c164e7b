"""notify_tasks_send_test through the real SMTP server and the Centrifugo double."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from django_notify_tasks.models import Delivery, Notification
from django_notify_tasks.send_test import SUBJECT, TEST_RULE
from tests.conftest import _use_smtp
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


def send_test(*args: str) -> str:
    out = StringIO()
    call_command("notify_tasks_send_test", *args, stdout=out)
    return out.getvalue()


def test_sends_one_email_through_the_smtp_server_and_logs_it(smtp_server: Any) -> None:
    output = send_test("--to", "ops@chat.example")
    [received] = smtp_server.messages
    [delivery] = Delivery.objects.all()
    assert received.envelope_to == ["ops@chat.example"]
    assert received.subject == SUBJECT
    assert received.message_id == delivery.message_id
    assert (delivery.status, delivery.notification.rule) == ("sent", TEST_RULE)
    assert delivery.notification.status == Notification.Status.PROCESSED
    assert output == f"email to ops@chat.example: sent, Message-ID {delivery.message_id}\n"


def test_with_a_channel_it_also_publishes_to_centrifugo(smtp_server: Any, centrifugo: Any) -> None:
    output = send_test("--to", "ops@chat.example", "--channel", "personal:#1")
    [publication] = centrifugo.publications_to("personal:#1")
    notification = Notification.objects.get()
    assert publication.data["rule"] == TEST_RULE
    assert publication.data["notification"] == notification.pk
    assert publication.idempotency_key == f"notify-tasks-{notification.stamp}"
    assert len(smtp_server.messages) == 1
    assert output.splitlines()[1] == "realtime to personal:#1: sent"


@pytest.mark.django_db(transaction=True)  # manage.py closes the connections when it is done
def test_a_closed_smtp_port_fails_for_good_with_the_reason(settings: Any, capsys: Any) -> None:
    _use_smtp(settings, free_port())
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(
            ["manage.py", "notify_tasks_send_test", "--to", "a@chat.example"]
        )
    out, err = capsys.readouterr()
    assert exit_.value.code == 1
    assert out.startswith("email to a@chat.example: failed: ConnectionRefusedError")
    assert "1 of 1 test sends failed." in err
    # Failed, not retrying: the sweeper does not send a test message later.
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_a_channel_centrifugo_does_not_know_fails_with_its_error(
    smtp_server: Any, centrifugo: Any
) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 test sends failed"):
        call_command(
            "notify_tasks_send_test", "--to", "a@chat.example", "--channel", "nope:1", stdout=out
        )
    assert "realtime to nope:1: failed: Centrifugo error 102: unknown channel" in out.getvalue()
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "not-an-address"], "invalid email address 'not-an-address'"),
        (["--to", "a@chat.example", "--channel", "bad ns!:1"], "invalid namespace"),
        (["--to", "a@chat.example", "--channel", "personal:#1"], "realtime is off"),
    ],
)
def test_unusable_arguments_are_clear_errors_and_record_nothing(
    args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        send_test(*args)
    assert Notification.objects.count() == 0
