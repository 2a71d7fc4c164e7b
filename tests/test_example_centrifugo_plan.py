"""run_demo.py starts Centrifugo with the generated config when it finds a v5 or v6 binary
($CENTRIFUGO, the one `make centrifugo` built, PATH) or can build one with `go`, and
otherwise says how to get one (the whole stack runs in tests/browser)."""

from __future__ import annotations

import json
import stat
import sys
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

    # No binary of the repository's own and no $CENTRIFUGO unless a test puts one there.
    monkeypatch.setattr(run_demo.centrifugo_setup, "BUILT", tmp_path / "cache" / "centrifugo")
    for name in (
        "CENTRIFUGO",
        "CENTRIFUGO_USAGE_STATS_DISABLED",
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


def fake_centrifugo(run_demo: ModuleType, version: str, binary: Path | None = None) -> Path:
    """An executable that answers `centrifugo version` like the real one (on PATH unless
    ``binary`` says where)."""
    binary = binary or Path(run_demo.os.environ["PATH"]) / "centrifugo"
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text(f"#!/bin/sh\necho 'Centrifugo v{version} (Go version: go1.24.1)'\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def executable(path: Path, script: str) -> None:
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


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
        f"(Centrifugo v{version[0]} from PATH, config {config_file})"
    )
    assert run_demo.os.environ["CENTRIFUGO_USAGE_STATS_DISABLED"] == "true"  # loopback only
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
    assert "run `make centrifugo`" in printed and "CENTRIFUGO=/path/to/centrifugo" in printed
    assert "emails are unaffected" in printed


def test_the_binary_make_centrifugo_built_comes_before_path(run_demo: ModuleType) -> None:
    fake_centrifugo(run_demo, "6.1.0")
    built = fake_centrifugo(run_demo, "6.9.1", run_demo.centrifugo_setup.BUILT)
    line, commands, _ = plan(run_demo)
    assert commands["centrifugo"][0] == str(built)
    assert "(Centrifugo v6 from make centrifugo, config " in line


def test_centrifugo_from_the_environment_comes_first(
    run_demo: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_centrifugo(run_demo, "6.9.1", run_demo.centrifugo_setup.BUILT)
    mine = fake_centrifugo(run_demo, "6.2.0", tmp_path / "elsewhere" / "centrifugo")
    monkeypatch.setenv("CENTRIFUGO", str(mine))
    line, commands, _ = plan(run_demo)
    assert commands["centrifugo"][0] == str(mine)
    assert "from $CENTRIFUGO" in line


def test_without_a_binary_but_with_go_it_is_built_with_make_centrifugo(
    run_demo: ModuleType, tmp_path: Path, capsys: Any
) -> None:
    bin_dir = Path(run_demo.os.environ["PATH"])
    built = run_demo.centrifugo_setup.BUILT
    executable(bin_dir / "go", "exit 0\n")
    # `make centrifugo`, as far as run_demo can tell: the binary appears where it looks.
    # (In Python: PATH holds nothing but bin_dir, so no mkdir or chmod for a shell script.)
    make = bin_dir / "make"
    make.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from pathlib import Path\n"
        f"Path({str(tmp_path / 'make.log')!r}).write_text('make ' + ' '.join(sys.argv[1:]))\n"
    )
    make.chmod(make.stat().st_mode | stat.S_IXUSR)
    with (bin_dir / "make").open("a") as script:  # the build: a centrifugo that says v6.9.1
        script.write(f"built = Path({str(built)!r})\n")
        script.write("built.parent.mkdir(parents=True, exist_ok=True)\n")
        script.write("built.write_text('#!/bin/sh\\necho Centrifugo v6.9.1\\n')\n")
        script.write("built.chmod(0o755)\n")
    line, commands, _ = plan(run_demo)
    assert (tmp_path / "make.log").read_text() == "make --no-print-directory centrifugo"
    assert commands["centrifugo"][0] == str(built)
    assert "(Centrifugo v6 from make centrifugo, config " in line
    assert "building it with `make centrifugo`" in capsys.readouterr().out


def test_a_failed_build_is_said_and_the_demo_carries_on(run_demo: ModuleType, capsys: Any) -> None:
    bin_dir = Path(run_demo.os.environ["PATH"])
    executable(bin_dir / "go", "exit 0\n")
    executable(bin_dir / "make", "exit 2\n")
    line, commands, ports = plan(run_demo)
    assert commands == {} and ports == {}
    assert line.startswith("not started (`make centrifugo` failed (see above))")
    assert "emails are unaffected" in capsys.readouterr().out


def test_a_centrifugo_url_given_in_the_environment_is_used_and_not_started(
    run_demo: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_centrifugo(run_demo, "6.1.0")
    monkeypatch.setenv("NOTIFY_TASKS_CENTRIFUGO_API_URL", "http://127.0.0.1:9/api")
    line, commands, _ = plan(run_demo)
    assert commands == {}
    assert line == "http://127.0.0.1:9/api (yours; not started here)"
