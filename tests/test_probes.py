"""notify_tasks_check against the real SMTP server, the Centrifugo double and real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from celery import Celery
from django.core.management import CommandError, call_command, execute_from_command_line

from django_notify_tasks.connectivity import FAIL, OK, SKIP, probe_broker
from tests.conftest import CENTRIFUGO_KEY, _use_smtp
from tests.support.services import SilentSmtpServer, free_port


@pytest.fixture
def celery_app_current(celery_app: Any) -> Iterator[Any]:
    """The tests' Celery app (real Redis) as the project's current app, as manage.py has it."""
    celery_app.set_current()
    yield celery_app
    celery_app.set_current()


@pytest.fixture
def closed_smtp_port(settings: Any) -> int:
    port = free_port()  # nothing listens there
    _use_smtp(settings, port)
    return port


def check() -> tuple[dict[str, list[str]], str]:
    """Each probe's line split in (name, status, detail), and the command's error."""
    out, error = StringIO(), ""
    try:
        call_command("notify_tasks_check", stdout=out)
    except CommandError as exc:
        error = str(exc)
    lines = [line.split(maxsplit=2) for line in out.getvalue().splitlines()]
    return {line[0]: line[1:] for line in lines}, error


def test_every_probe_passes_against_the_real_services(
    smtp_server: Any, centrifugo: Any, celery_app_current: Any
) -> None:
    probes, error = check()
    assert (list(probes), error) == (["email", "centrifugo", "broker"], "")
    assert probes["email"][0] == OK
    assert probes["email"][1].startswith(f"127.0.0.1:{smtp_server.port} (django.core.mail")
    assert "smtp.EmailBackend, timeout 1 s)" in probes["email"][1]
    assert smtp_server.handler.connections == 1  # it really said EHLO to the server
    assert probes["centrifugo"][0] == OK
    assert f"{centrifugo.api_url}: 1 node(s), version 6.x-double" in probes["centrifugo"][1]
    [request] = centrifugo.requests
    assert (request.path, request.headers["x-api-key"]) == ("/api/info", CENTRIFUGO_KEY)
    assert probes["broker"][0] == OK
    assert probes["broker"][1].startswith(celery_app_current.conf.broker_url)


def test_a_closed_smtp_port_fails_with_the_reason_and_exit_code_1(
    closed_smtp_port: int, celery_app_current: Any, capsys: Any
) -> None:
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "notify_tasks_check"])
    out, err = capsys.readouterr()
    lines = [line.split(maxsplit=2) for line in out.splitlines()]
    assert exit_.value.code == 1
    assert [line[:2] for line in lines] == [["email", FAIL], ["centrifugo", SKIP], ["broker", OK]]
    assert "ConnectionRefusedError" in lines[0][2]
    assert "realtime is off" in lines[1][2]
    assert "1 of 3 probes failed: email." in err


def test_a_silent_smtp_server_fails_within_the_email_timeout(
    silent_smtp_server: Any, celery_app_current: Any
) -> None:
    probes, error = check()
    assert probes["email"][0] == FAIL
    assert "timed out" in probes["email"][1]
    assert error == "1 of 3 probes failed: email."


def test_centrifugo_refusing_the_key_says_which_setting(
    centrifugo: Any, celery_app_current: Any
) -> None:
    centrifugo.set_api_key("another-key")
    probes, error = check()
    assert probes["centrifugo"][0] == FAIL
    assert "CentUnauthorizedError" in probes["centrifugo"][1]
    assert "NOTIFY_TASKS_CENTRIFUGO_API_KEY" in probes["centrifugo"][1]
    assert "centrifugo" in error


def test_centrifugo_unreachable_fails(settings: Any, celery_app_current: Any) -> None:
    settings.NOTIFY_TASKS_CENTRIFUGO_API_URL = f"http://127.0.0.1:{free_port()}/api"
    settings.NOTIFY_TASKS_CENTRIFUGO_API_KEY = "key"
    probes, _ = check()
    assert probes["centrifugo"][0] == FAIL
    assert "CentNetworkError" in probes["centrifugo"][1]


def test_a_closed_broker_port_fails_the_command(celery_app: Any) -> None:
    Celery("host", broker=f"redis://127.0.0.1:{free_port()}/0").set_current()
    try:
        probes, error = check()
    finally:
        celery_app.set_current()
    assert probes["broker"][0] == FAIL
    assert "Connection refused" in probes["broker"][1]
    assert error == "1 of 3 probes failed: broker."


def test_a_broker_that_never_answers_fails_within_the_connection_timeout() -> None:
    silent = SilentSmtpServer()  # a TCP port that accepts and never replies
    silent.start()
    app = Celery("host", broker=f"redis://127.0.0.1:{silent.port}/0", set_as_current=False)
    app.conf.broker_connection_timeout = 0.5
    try:
        probe = probe_broker(app)
    finally:
        silent.stop()
    assert (probe.name, probe.status) == ("broker", FAIL)
    assert "Timeout" in probe.detail or "timed out" in probe.detail
