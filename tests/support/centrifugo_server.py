"""A real Centrifugo server (``make centrifugo`` builds it) on a free loopback port.

It runs from the config ``manage.py notify_tasks_centrifugo_config`` writes, unchanged: the
address, the port and the health endpoint come from Centrifugo's environment variables, so
the tests prove the generator against the real server.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import requests
from django.core.management import call_command
from django.test import override_settings

from tests.support.services import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
# `make centrifugo` puts it here; CENTRIFUGO=/path/to/centrifugo points at another build.
DEFAULT_BINARY = REPO / ".cache" / "centrifugo" / "centrifugo"
API_KEY = "real-centrifugo-test-key"
TOKEN_SECRET = "real-centrifugo-test-hmac-secret-of-32-bytes"
# What the rules of the real-server tests use: a chat's channel and a member's own channel.
REALTIME_RULES = {
    "joined": {
        "model": "testapp.Membership",
        "on": ["created"],
        "realtime": {"channels": ["chats:{instance.chat_id}", "personal:#{instance.user_id}"]},
    }
}
# The settings the generated config is written from; the real-server tests use them too.
REALTIME_SETTINGS: dict[str, Any] = {
    "NOTIFY_TASKS_CENTRIFUGO_API_KEY": API_KEY,
    "NOTIFY_TASKS_CENTRIFUGO_TOKEN_SECRET": TOKEN_SECRET,
    "NOTIFY_TASKS_RULES": REALTIME_RULES,
}
ORIGIN = "http://127.0.0.1"


def find_binary() -> tuple[Path | None, str]:
    """(the binary, "") or (None, why there is none); builds it where ``go`` is installed."""
    binary = Path(os.environ.get("CENTRIFUGO") or DEFAULT_BINARY)
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary, ""
    if shutil.which("go") is None:
        return None, (
            f"no Centrifugo binary at {binary} and no `go` to build one: install Go 1.26+ and "
            "run `make centrifugo`, or set CENTRIFUGO to a release binary"
        )
    subprocess.run(["make", "centrifugo"], cwd=REPO, check=True)
    return binary, ""


def generated_config(**settings: Any) -> dict[str, Any]:
    """What ``manage.py notify_tasks_centrifugo_config`` prints for REALTIME_SETTINGS."""
    out = io.StringIO()
    with override_settings(**{**REALTIME_SETTINGS, **settings}):
        call_command("notify_tasks_centrifugo_config", "--allowed-origin", ORIGIN, stdout=out)
    config: dict[str, Any] = json.loads(out.getvalue())
    return config


class CentrifugoServer:
    """One real Centrifugo process, which a test may stop and start again on the same port."""

    def __init__(
        self, binary: Path, config: dict[str, Any], env: dict[str, str] | None = None
    ) -> None:
        self.binary = binary
        self.config = config
        self.env = env or {}  # CENTRIFUGO_* options on top of the config, e.g. its engine
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="notify-tasks-centrifugo-"))
        self.config_path = self.dir / "config.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log_path = self.dir / "centrifugo.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_key(self) -> str:
        return str(self.config["http_api"]["key"])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    def start(self) -> None:
        env = {
            **os.environ,
            "CENTRIFUGO_HTTP_SERVER_ADDRESS": "127.0.0.1",
            "CENTRIFUGO_HTTP_SERVER_PORT": str(self.port),
            "CENTRIFUGO_HEALTH_ENABLED": "true",
            "CENTRIFUGO_LOG_LEVEL": "info",
            "CENTRIFUGO_USAGE_STATS_DISABLED": "true",  # tests talk to loopback only
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.dir,
            )
        wait_for(self.ready, timeout=30, message=f"Centrifugo on port {self.port}")

    def ready(self) -> bool:
        """True once /health answers 200; fails at once if the process has exited."""
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"Centrifugo exited; its log:\n{self.log()}")
        try:
            return requests.get(f"{self.base_url}/health", timeout=0.5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """Stop this process, by its own pid: SIGTERM, then SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, method: str, body: dict[str, Any]) -> Any:
        """One server API call with the right key; the parsed JSON answer."""
        response = requests.post(
            f"{self.api_url}/{method}", json=body, headers={"X-API-Key": self.api_key}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def history(self, channel: str) -> list[Any]:
        """The data of every publication the channel's history holds, oldest first."""
        answer = self.api("history", {"channel": channel, "limit": -1})
        if "error" in answer:
            raise AssertionError(f"history of {channel!r}: {answer['error']}")
        return [pub.get("data") for pub in answer["result"].get("publications", [])]
