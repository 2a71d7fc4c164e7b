"""The real Centrifugo (make centrifugo) runs from the config the package generates."""

from __future__ import annotations

from pathlib import Path

import pytest
from cent import Client, InfoRequest, PublishRequest
from cent.exceptions import CentApiResponseError

from tests.support.centrifugo_server import CentrifugoServer, generated_config

pytestmark = pytest.mark.centrifugo


def test_server_runs_the_generated_config_at_the_pinned_version(
    centrifugo_server: CentrifugoServer,
) -> None:
    with Client(centrifugo_server.api_url, centrifugo_server.api_key, timeout=5) as client:
        [node] = client.info(InfoRequest()).nodes

    assert node.version.startswith("6.9.1")  # Makefile's CENTRIFUGO_VERSION, stamped in


def test_generated_namespaces_keep_history_and_others_are_unknown(
    centrifugo_server: CentrifugoServer,
) -> None:
    with Client(centrifugo_server.api_url, centrifugo_server.api_key, timeout=5) as client:
        first = client.publish(PublishRequest(channel="chats:generated", data={"n": 1}))
        client.publish(PublishRequest(channel="personal:#generated", data={"n": 2}))
        with pytest.raises(CentApiResponseError) as caught:
            client.publish(PublishRequest(channel="elsewhere:1", data=1))

    assert first.offset == 1 and first.epoch
    assert centrifugo_server.history("chats:generated") == [{"n": 1}]
    assert centrifugo_server.history("personal:#generated") == [{"n": 2}]
    assert caught.value.code == 102


def test_a_restart_of_the_default_memory_engine_forgets_history_and_idempotency_keys(
    centrifugo_binary: Path,
) -> None:
    """Why the restart fault test runs on the Redis engine (docs/realtime.md says so too)."""
    server = CentrifugoServer(centrifugo_binary, generated_config())
    server.start()
    try:
        first = PublishRequest(channel="chats:restart", data={"n": 1}, idempotency_key="k")
        with Client(server.api_url, server.api_key, timeout=5) as client:
            before = client.publish(first)
            client.publish(PublishRequest(channel="chats:restart", data={"n": 2}))
            server.stop()
            server.start()
            after = client.publish(first)  # within the 300 s window, but a new process
        history = server.history("chats:restart")
    finally:
        server.stop()

    assert after.epoch != before.epoch  # a new stream: clients cannot recover across it
    assert after.offset == 1  # published again: the key was forgotten
    assert history == [{"n": 1}]  # {"n": 2}, published before the restart, is gone
