"""run_demo.py starts Centrifugo with the generated config when a v5 or v6 binary is on
PATH, and otherwise says how to get one (the whole stack runs in tests/browser)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.services import free_port

EXAMPLE_PROJECT = Path(__file__).resolve().parent.parent / "example_project"
WEB_PORT = 8123


@pytest.fixture
def run_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """run_demo.py imported, with the environment its main() prepares and an empty PATH."""
    monkeypatch.syspath_prepend(str(EXAMPLE_PROJECT))
    import run_demo

    for name in (
        "NOTIFY_TASKS_CENTRIFUGO_API_URL",
        "NOTIFY_TASKS_CENTRIFUGO_WS_URL",
        "NOTIFY_TASKS_CENTRIFUGO_API_KEY",
        "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "demo.settings")  # manage.py subprocesses
    monkeypatch.setenv("DEMO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DEMO_CENTRIFUGO_PORT", str(free_port()))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return run_demo


def fake_centrifugo(run_demo: ModuleType, version: str) -> Path:
    """An executable that answers `centrifugo version` like the real one."""
    binary = Path(run_demo.os.environ["PATH"]) / "centrifugo"
    binary.write_text(f"#!/bin/sh\necho 'Centrifugo v{version} (Go version: go1.24.1)'\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def plan(run_demo: ModuleType) -> tuple[str, dict[str, list[str]], dict[str, int]]:
    commands: dict[str, list[str]] = {}
    ports: dict[str, int] = {}
    line = run_demo.plan_centrifugo(WEB_PORT, commands, ports)
    return line, commands, ports


@pytest.mark.parametrize(
    ("version", "listen"),
    [
        ("6.1.0", ["--http_server.address=127.0.0.1", "--http_server.port={port}"]),
        ("5.4.9", ["--address=127.0.0.1", "--port={port}"]),
    ],
)
def test_a_centrifugo_on_path_is_started_with_the_generated_config(
    run_demo: ModuleType, tmp_path: Path, version: str, listen: list[str]
) -> None:
    binary = fake_centrifugo(run_demo, version)
    port = int(run_demo.os.environ["DEMO_CENTRIFUGO_PORT"])
    line, commands, ports = plan(run_demo)
    config_file = tmp_path / "var" / "centrifugo.json"
    expected = [str(binary), f"--config={config_file}", *(a.format(port=port) for a in listen)]
    assert commands == {"centrifugo": expected}
    assert ports == {"DEMO_CENTRIFUGO_PORT": port}  # the demo waits for it to answer
    assert line == (
        f"ws://127.0.0.1:{port}/connection/websocket "
        f"(Centrifugo v{version[0]}, config {config_file})"
    )
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600  # it holds the API key
    config = json.loads(config_file.read_text())
    environ = run_demo.os.environ
    assert environ["NOTIFY_TASKS_CENTRIFUGO_API_URL"] == f"http://127.0.0.1:{port}/api"
    text = config_file.read_text()
    assert environ["NOTIFY_TASKS_CENTRIFUGO_API_KEY"] in text  # the worker's key is the server's
    assert environ["NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET"] in text  # and so is the JWT secret
    assert f"http://127.0.0.1:{WEB_PORT}" in json.dumps(config)  # the site's origin is allowed


@pytest.mark.parametrize("version", [None, "4.1.5"])
def test_without_a_usable_centrifugo_the_demo_says_how_to_get_one(
    run_demo: ModuleType, capsys: Any, version: str | None
) -> None:
    if version is not None:
        fake_centrifugo(run_demo, version)
    line, commands, ports = plan(run_demo)
    assert commands == {} and ports == {}
    assert line.startswith("not started (")
    printed = capsys.readouterr().out
    assert "https://github.com/centrifugal/centrifugo/releases" in printed
    assert "emails are unaffected" in printed


def test_a_centrifugo_url_given_in_the_environment_is_used_and_not_started(
    run_demo: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_centrifugo(run_demo, "6.1.0")
    monkeypatch.setenv("NOTIFY_TASKS_CENTRIFUGO_API_URL", "http://127.0.0.1:9/api")
    line, commands, _ = plan(run_demo)
    assert commands == {}
    assert line == "http://127.0.0.1:9/api (yours; not started here)"
