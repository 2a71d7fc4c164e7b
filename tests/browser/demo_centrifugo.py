"""The real Centrifugo the demo stack runs (run_demo.py starts the binary `make centrifugo`
builds, with the config it generates), seen from the tests through its server API."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import requests

from tests.support.services import wait_for


class DemoCentrifugo:
    """Its port and secrets are chosen here and given to run_demo.py through the environment."""

    def __init__(self, binary: Path, port: int) -> None:
        self.binary = binary
        self.port = port
        self.api_key = secrets.token_urlsafe(16)
        self.token_secret = secrets.token_urlsafe(32)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    def api(self, method: str, body: dict[str, Any]) -> Any:
        response = requests.post(
            f"{self.api_url}/{method}", json=body, headers={"X-API-Key": self.api_key}, timeout=5
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            raise AssertionError(f"{method} {body}: {answer['error']}")
        return answer["result"]

    def history(self, channel: str) -> list[Any]:
        """The data of every publication the channel's history holds, oldest first."""
        found = self.api("history", {"channel": channel, "limit": -1}).get("publications", [])
        return [publication.get("data") for publication in found]

    def subscribers(self, channel: str) -> int:
        """How many connections are subscribed to ``channel`` now (the ``channels`` method)."""
        channels = self.api("channels", {"pattern": channel}).get("channels", {})
        return int(channels.get(channel, {}).get("num_clients", 0))

    def wait_subscribed(self, channel: str, timeout: float = 20) -> None:
        wait_for(lambda: self.subscribers(channel), timeout, f"a subscriber to {channel}")

    def wait_unsubscribed(self, channel: str, timeout: float = 20) -> None:
        wait_for(lambda: not self.subscribers(channel), timeout, f"no subscriber to {channel}")

    def publish(self, channel: str, data: Any) -> None:
        self.api("publish", {"channel": channel, "data": data})
