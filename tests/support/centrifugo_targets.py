"""The two Centrifugo servers the contract tests run against: the double and the real one.

Both are built from the same generated config (namespaces, history), so a contract test that
passes on one and fails on the other shows a difference between the double and Centrifugo.
"""

from __future__ import annotations

from typing import Any

from tests.support.centrifugo import CentrifugoDouble, namespace_of
from tests.support.centrifugo_server import CentrifugoServer


def double_from_config(config: dict[str, Any], **options: Any) -> CentrifugoDouble:
    """A double with the API key, namespaces and history of a v6 Centrifugo config."""
    entries = config["channel"]["namespaces"]
    return CentrifugoDouble(
        config["http_api"]["key"] or None,
        namespaces={entry["name"] for entry in entries},
        history_namespaces={entry["name"] for entry in entries if entry.get("history_size")},
        **options,
    )


class Target:
    """What a contract test needs of a server: its URLs and what it delivered."""

    kind = ""
    double: CentrifugoDouble | None = None

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_url = f"{base_url}/api"
        self.api_key = api_key

    def delivered(self, channel: str) -> list[Any]:
        """The data published into ``channel`` (a channel of a namespace with history)."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError


class DoubleTarget(Target):
    kind = "double"

    def __init__(self, double: CentrifugoDouble) -> None:
        super().__init__(double.base_url, double.api_key or "")
        self.double = double

    def delivered(self, channel: str) -> list[Any]:
        self._check_observable(channel)
        return [publication.data for publication in self.double.publications_to(channel)]

    def stop(self) -> None:
        assert self.double is not None
        self.double.stop()

    def start(self) -> None:
        assert self.double is not None
        self.double.start()

    def _check_observable(self, channel: str) -> None:
        # The same rule as the real server's, so a test cannot rely on what only one shows.
        assert self.double is not None
        if namespace_of(channel) not in self.double.history_namespaces:
            raise ValueError(f"{channel!r} keeps no history: the real server cannot show it")


class RealTarget(Target):
    kind = "real"

    def __init__(self, server: CentrifugoServer) -> None:
        super().__init__(server.base_url, server.api_key)
        self.server = server

    def delivered(self, channel: str) -> list[Any]:
        return self.server.history(channel)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.start()
