"""The real Centrifugo (make centrifugo) runs from the config the package generates."""

from __future__ import annotations

import pytest
from cent import Client, InfoRequest, PublishRequest
from cent.exceptions import CentApiResponseError

from tests.support.centrifugo_server import CentrifugoServer

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
