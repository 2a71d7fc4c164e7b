"""The Centrifugo double and the real server, driven by the real ``cent`` 5.2.0 client and
by raw HTTP.

These tests pin two things: that the double keeps the contract in
``shared/reference/centrifugo-contract.md``, and what the real ``cent`` client does with each
answer. The tests taking ``server`` run twice, against the double and against a real
Centrifugo v6.9.1 started from the same generated config (marker ``centrifugo``): a
difference between the two fails. Those taking ``double`` check what only the double can
show (recorded requests, injected faults, a fake clock).

Facts about ``cent`` 5.2.0 (sync ``Client``, requests 2.x) verified here:

* wrong, missing or unconfigured API key (401)          -> ``CentUnauthorizedError``
* ``Client(api_key="")`` sends no ``X-API-Key`` at all     -> 401 -> ``CentUnauthorizedError``
* ``api_url`` ending in ``/``: POST ``/api//publish`` -> 307 -> requests re-sends the POST
  to ``/api/publish``                                  -> published (one extra round trip)
* wrong path (404)                                      -> ``CentTransportError(404)``
* bare 503 / 500                                        -> ``CentTransportError(503 / 500)``
* 400 ``Bad Request`` (body not decodable)             -> ``CentTransportError(400)``, body lost
* server slower than the client timeout                 -> ``CentTimeoutError``
* connection closed without an answer, or server down   -> ``CentNetworkError``
* API error 100 / 102 / 107 on publish                  -> ``CentApiResponseError(.code)``
* per-channel errors inside broadcast                   -> no exception: in ``responses[i].error``
* a batch reply holding an error                        -> plain ``KeyError`` (not a CentError)
* ``PublishRequest(data=None)`` drops ``data``           -> 107 -> ``CentApiResponseError(107)``
* datetime or UUID in ``data``                          -> plain ``TypeError``, nothing sent
* NaN in ``data``                 -> ``requests.exceptions.InvalidJSONError`` (not a CentError)
* non-string tag values           -> pydantic ``ValidationError`` when building the request
* a ``session`` passed in gets ``X-API-Key`` written into its default headers
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import cent
import pydantic
import pytest
import requests
from cent import BatchRequest, BroadcastRequest, Client, InfoRequest, PublishRequest
from cent.exceptions import (
    CentApiResponseError,
    CentError,
    CentNetworkError,
    CentTimeoutError,
    CentTransportError,
    CentUnauthorizedError,
)

from tests.support.centrifugo import CentrifugoDouble
from tests.support.centrifugo_server import API_KEY as SERVER_KEY
from tests.support.centrifugo_server import CentrifugoServer, generated_config
from tests.support.centrifugo_targets import DoubleTarget, RealTarget, Target, double_from_config
from tests.support.services import wait_for

API_KEY = "double-test-key"


class FakeClock:
    """A monotonic clock the test moves by hand, so the idempotency window needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def double(clock: FakeClock) -> Iterator[CentrifugoDouble]:
    server = CentrifugoDouble(API_KEY, history_namespaces={"chats"}, clock=clock)
    server.start()
    yield server
    server.stop()
    assert server.errors == []


@pytest.fixture
def client(double: CentrifugoDouble) -> Iterator[Client]:
    with Client(double.api_url, API_KEY, timeout=5.0) as cent_client:
        yield cent_client


@pytest.fixture(params=["double", pytest.param("real", marks=pytest.mark.centrifugo)])
def server(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The double, or a fresh real Centrifugo (clean history and idempotency state), both
    from the config ``notify_tasks_centrifugo_config`` generates."""
    config = generated_config()
    if request.param == "double":
        double = double_from_config(config)
        double.start()
        yield DoubleTarget(double)
        double.stop()
        assert double.errors == []
        return
    session_server: CentrifugoServer = request.getfixturevalue("centrifugo_server")
    real = CentrifugoServer(session_server.binary, config)
    real.start()
    yield RealTarget(real)
    real.stop()


@pytest.fixture
def server_client(server: Target) -> Iterator[Client]:
    with Client(server.api_url, server.api_key, timeout=5.0) as cent_client:
        yield cent_client


def raw(
    double: CentrifugoDouble | Target,
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> requests.Response:
    """One raw HTTP request, no redirects followed; ``body`` bytes are sent as they are."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return requests.request(
        method,
        double.base_url + path,
        data=data,
        headers=headers if headers is not None else {"X-API-Key": double.api_key or ""},
        params=params,
        allow_redirects=False,
        timeout=5,
    )


def publish_body(channel: str = "personal:#1", **fields: Any) -> dict[str, Any]:
    return {"channel": channel, "data": {"n": 1}, **fields}


# -- auth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"X-API-Key": SERVER_KEY}, None),
        ({"Authorization": f"apikey {SERVER_KEY}"}, None),
        ({"Authorization": f"ApiKey {SERVER_KEY}"}, None),  # Centrifugo lower-cases the scheme
        ({}, {"api_key": SERVER_KEY}),
    ],
    ids=["x-api-key", "authorization", "authorization-case", "query"],
)
def test_each_auth_method_is_accepted(
    server: Target, headers: dict[str, str], params: dict[str, str] | None
) -> None:
    response = raw(server, "/api/publish", publish_body(), headers=headers, params=params)

    assert response.status_code == 200
    assert response.json()["result"]["offset"] == 1  # personal:#1 keeps history
    assert server.delivered("personal:#1") == [{"n": 1}]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong"},
        {"Authorization": f"Bearer {SERVER_KEY}"},
        {"Authorization": SERVER_KEY},
        {"Authorization": f"apikey {SERVER_KEY} extra"},
        # X-API-Key wins: a wrong one is not rescued by a right Authorization header.
        {"X-API-Key": "wrong", "Authorization": f"apikey {SERVER_KEY}"},
    ],
    ids=["none", "wrong", "bearer", "no-scheme", "three-fields", "x-api-key-first"],
)
def test_wrong_or_missing_key_is_401_with_an_empty_body(
    server: Target, headers: dict[str, str]
) -> None:
    response = raw(server, "/api/publish", publish_body(), headers=headers)

    assert response.status_code == 401
    assert response.content == b""
    assert server.delivered("personal:#1") == []


def test_query_key_is_checked_even_after_a_wrong_header(server: Target) -> None:
    # Centrifugo's APIKeyAuth falls through to ?api_key= whenever the headers did not match.
    headers = {"X-API-Key": "wrong"}
    params = {"api_key": SERVER_KEY}

    assert raw(server, "/api/info", {}, headers=headers, params=params).status_code == 200


def test_no_key_configured_rejects_everything() -> None:
    with CentrifugoDouble(None) as double:
        assert raw(double, "/api/info", {}, headers={"X-API-Key": ""}).status_code == 401
        assert raw(double, "/api/info", {}, params={"api_key": ""}).status_code == 401
        with (
            Client(double.api_url, "anything") as cent_client,
            pytest.raises(CentUnauthorizedError),
        ):
            cent_client.info(InfoRequest())
        assert double.errors == []


def test_key_rotation(double: CentrifugoDouble, client: Client) -> None:
    client.info(InfoRequest())

    double.set_api_key("rotated")

    with pytest.raises(CentUnauthorizedError):
        client.info(InfoRequest())
    with Client(double.api_url, "rotated") as rotated:
        assert rotated.info(InfoRequest()).nodes


def test_cent_with_an_empty_key_sends_no_header(double: CentrifugoDouble) -> None:
    with Client(double.api_url, "") as cent_client, pytest.raises(CentUnauthorizedError):
        cent_client.publish(PublishRequest(channel="news", data=1))

    assert "x-api-key" not in double.requests[-1].headers


def test_cent_writes_the_key_into_a_session_passed_in(server: Target) -> None:
    with requests.Session() as session:
        Client(server.api_url, SERVER_KEY, session=session).info(InfoRequest())

        assert session.headers["X-API-Key"] == SERVER_KEY


# -- HTTP-level answers ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_non_post_is_405_before_auth(server: Target, method: str) -> None:
    response = raw(server, "/api/publish", method=method, headers={})

    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    ["/api/unknown_method", "/api/publish/", "/api/Publish", "/", "/publish", "/api/x/publish"],
)
def test_unknown_path_is_404_page_not_found(server: Target, path: str) -> None:
    response = raw(server, path, publish_body())

    assert response.status_code == 404
    assert response.content == b"404 page not found\n"


def test_unclean_path_is_redirected_to_the_clean_one(server: Target) -> None:
    response = raw(server, "/api//publish", publish_body(), params={"x": "1"})

    # Go 1.22's ServeMux, as Centrifugo v6.9.1 runs it: 307 keeps the method and the body.
    assert response.status_code == 307
    assert response.headers["Location"] == "/api/publish?x=1"
    assert response.content == b""
    assert server.delivered("personal:#1") == []


def test_real_centrifugo_routes_the_double_lacks_answer_501(double: CentrifugoDouble) -> None:
    assert raw(double, "/api/presence", {"channel": "news"}).status_code == 501
    assert raw(double, "/api", {"method": "publish", "params": {}}).status_code == 501
    # ...but only once routing, method and auth passed, as the real route would.
    assert raw(double, "/api/presence", {}, headers={}).status_code == 401
    assert raw(double, "/api", method="GET").status_code == 405


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/publish", b""),
        ("/api/publish", b"not json"),
        ("/api/publish", b"[]"),
        ("/api/publish", b'"channel"'),
        ("/api/publish", b'{"channel": "news", "data": NaN}'),
        ("/api/publish", b'\xef\xbb\xbf{"channel": "news", "data": 1}'),
        ("/api/publish", b'{"channel": "news", "data": 1} {}'),
        ("/api/publish", {"channel": 1, "data": {}}),
        ("/api/publish", {"channel": ["news"], "data": {}}),
        ("/api/publish", publish_body(tags={"a": 1})),
        ("/api/publish", publish_body(tags=["a"])),
        ("/api/publish", publish_body(idempotency_key=5)),
        ("/api/publish", publish_body(skip_history="true")),
        ("/api/publish", publish_body(b64data=1)),
        ("/api/broadcast", {"channels": "news", "data": 1}),
        ("/api/broadcast", {"channels": ["news", 2], "data": 1}),
        ("/api/broadcast", {"channels": ["news"], "data": 1, "idempotency_key": {}}),
        ("/api/batch", {"commands": {"publish": publish_body()}}),
        ("/api/batch", {"commands": ["publish"]}),
        ("/api/batch", {"commands": [{"publish": "news"}]}),
        ("/api/batch", {"commands": [], "parallel": "yes"}),
        ("/api/info", b"[]"),
    ],
)
def test_undecodable_body_is_400_bad_request(server: Target, path: str, body: Any) -> None:
    response = raw(server, path, body)

    assert response.status_code == 400
    assert response.content == b"Bad Request\n"
    assert server.delivered("personal:#1") == []


def test_a_null_tag_value_is_an_empty_string_as_go_decodes_it(server: Target) -> None:
    body = {"commands": [{"publish": publish_body("chats:1", tags={"a": None})}]}

    [reply] = raw(server, "/api/batch", body).json()["replies"]

    assert reply["publish"]["offset"] == 1
    assert server.delivered("chats:1") == [{"n": 1}]
    if server.double is not None:
        assert server.double.publications[0].tags == {"a": ""}


def test_unknown_fields_are_ignored_as_go_does(server: Target) -> None:
    response = raw(server, "/api/publish", publish_body(future_field={"x": 1}))

    assert response.json()["result"]["offset"] == 1


# -- API errors ----------------------------------------------------------------------------------


def test_missing_data_is_107_but_json_null_data_is_delivered(server: Target) -> None:
    missing = raw(server, "/api/publish", {"channel": "chats:1"})
    null = raw(server, "/api/publish", {"channel": "chats:1", "data": None})

    assert missing.status_code == 200
    assert missing.json() == {"error": {"code": 107, "message": "bad request"}}
    assert null.json()["result"]["offset"] == 1
    assert server.delivered("chats:1") == [None]


def test_cent_drops_data_none_so_the_server_says_107(
    server: Target, server_client: Client
) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        server_client.publish(PublishRequest(channel="news", data=None))

    assert caught.value.code == 107
    if server.double is not None:  # what cent sent: only the double records requests
        assert "data" not in server.double.requests[-1].body


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "", "data": 1},
        {"data": 1},
        {"channel": None, "data": 1},  # Go decodes null as the zero value: empty channel
        {"channel": "news", "b64data": "not base64!"},
        {"channel": "chats:1", "data": 1, "b64data": "YWJj="},  # wrong padding
    ],
    ids=["empty", "absent", "null", "bad-b64", "b64-padding"],
)
def test_bad_publish_is_107(server: Target, body: dict[str, Any]) -> None:
    response = raw(server, "/api/publish", body)

    assert response.json() == {"error": {"code": 107, "message": "bad request"}}
    assert server.delivered("chats:1") == []


@pytest.mark.parametrize("channel", ["chats:caf\u00e9", "chats:" + "x" * 250])
def test_the_server_api_does_not_check_channel_names(server: Target, channel: str) -> None:
    # Only subscribing checks them (106): a channel no browser can join is still published.
    response = raw(server, "/api/publish", {"channel": channel, "data": 1})

    assert response.json()["result"]["offset"] == 1
    assert server.delivered(channel) == [1]


@pytest.mark.parametrize("channel", ["caf\u00e9", "x" * 256])
def test_the_double_can_be_stricter_about_channel_names(channel: str) -> None:
    with CentrifugoDouble(API_KEY, validate_channel_names=True) as strict:
        response = raw(strict, "/api/publish", {"channel": channel, "data": 1})

    assert response.json() == {"error": {"code": 107, "message": "bad request"}}
    assert strict.publications == []


def test_longest_allowed_channel_and_b64data_are_delivered(server: Target) -> None:
    longest = "x" * 255
    encoded = base64.b64encode(b"\x00binary").decode()

    assert raw(server, "/api/publish", {"channel": longest, "data": 1}).json() == {"result": {}}
    assert raw(server, "/api/publish", {"channel": "news", "b64data": encoded}).json() == {
        "result": {}
    }
    if server.double is not None:  # the real server's history API shows no b64 payload
        assert [pub.data for pub in server.double.publications] == [1, b"\x00binary"]


def test_unknown_namespace_is_102(server: Target, server_client: Client) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        server_client.publish(PublishRequest(channel="nope:1", data=1))

    assert (caught.value.code, caught.value.message) == (102, "unknown channel")


@pytest.mark.parametrize("channel", ["news", "personal:#42", "$personal:secret", ":odd", "a:b:c"])
def test_default_and_configured_namespaces(server: Target, channel: str) -> None:
    response = raw(server, "/api/publish", publish_body(channel))

    if channel == "a:b:c":  # namespace "a" is not configured
        assert response.json()["error"]["code"] == 102
    else:
        assert "result" in response.json()


def test_empty_broadcast_is_107(server: Target, server_client: Client) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        server_client.broadcast(BroadcastRequest(channels=[], data=1))

    assert caught.value.code == 107


def test_namespaces_are_validated_like_centrifugo_config() -> None:
    with pytest.raises(ValueError):
        CentrifugoDouble(API_KEY, namespaces={"a"})  # names need two characters at least
    with pytest.raises(ValueError):
        CentrifugoDouble(API_KEY, history_namespaces={"other"})


# -- publish results and recording -------------------------------------------------------------


def test_publish_without_history_returns_an_empty_result(
    server: Target, server_client: Client
) -> None:
    result = server_client.publish(PublishRequest(channel="news", data={"text": "hi"}))

    assert (result.offset, result.epoch) == (0, "")
    assert raw(server, "/api/publish", publish_body("news")).json() == {"result": {}}


def test_publish_with_history_returns_offset_and_epoch(server_client: Client) -> None:
    first = server_client.publish(PublishRequest(channel="chats:1", data=1))
    second = server_client.publish(PublishRequest(channel="chats:1", data=2))
    skipped = server_client.publish(PublishRequest(channel="chats:1", data=3, skip_history=True))

    assert (first.offset, second.offset) == (1, 2)
    assert first.epoch == second.epoch != ""
    assert (skipped.offset, skipped.epoch) == (0, "")


def test_publications_and_requests_are_recorded(double: CentrifugoDouble, client: Client) -> None:
    client.publish(
        PublishRequest(channel="staff:7", data={"a": 1}, tags={"kind": "x"}, idempotency_key="k")
    )

    [publication] = double.publications_to("staff:7")
    assert publication.data == {"a": 1}
    assert publication.tags == {"kind": "x"}
    assert publication.idempotency_key == "k"
    assert publication.command == "publish"
    [request] = double.requests
    assert (request.method, request.path, request.status) == ("POST", "/api/publish", 200)
    assert request.headers["x-api-key"] == API_KEY
    assert request.body["idempotency_key"] == "k"
    assert double.requests_count == 1


# -- idempotency ---------------------------------------------------------------------------------


def test_same_key_on_the_same_channel_is_delivered_once(
    server: Target, server_client: Client
) -> None:
    request = PublishRequest(channel="chats:9", data={"v": 1}, idempotency_key="event-1")

    first = server_client.publish(request)
    again = server_client.publish(request)

    assert again == first
    assert first.offset == 1
    assert server.delivered("chats:9") == [{"v": 1}]


def test_same_key_on_another_channel_is_delivered(server: Target, server_client: Client) -> None:
    server_client.publish(PublishRequest(channel="chats:1", data=1, idempotency_key="same"))
    server_client.publish(PublishRequest(channel="chats:2", data=1, idempotency_key="same"))

    assert server.delivered("chats:1") == server.delivered("chats:2") == [1]


def test_idempotency_window_expires(
    double: CentrifugoDouble, client: Client, clock: FakeClock
) -> None:
    request = PublishRequest(channel="chats:1", data=1, idempotency_key="k")
    client.publish(request)

    clock.now += 299.9
    client.publish(request)
    assert len(double.publications) == 1

    clock.now += 0.2  # 300.1 s after the first publication
    assert client.publish(request).offset == 2
    assert len(double.publications) == 2


def test_idempotency_window_is_configurable(clock: FakeClock) -> None:
    with CentrifugoDouble(API_KEY, idempotency_window=10, clock=clock) as double:
        with Client(double.api_url, API_KEY) as cent_client:
            request = PublishRequest(channel="news", data=1, idempotency_key="k")
            cent_client.publish(request)
            clock.now += 10
            cent_client.publish(request)
        assert len(double.publications) == 2


def test_broadcast_idempotency_is_per_channel(server: Target, server_client: Client) -> None:
    first = server_client.broadcast(
        BroadcastRequest(channels=["chats:1", "chats:2"], data=1, idempotency_key="k")
    )
    second = server_client.broadcast(
        BroadcastRequest(channels=["chats:1", "chats:2", "chats:3"], data=1, idempotency_key="k")
    )

    assert [server.delivered(f"chats:{n}") for n in (1, 2, 3)] == [[1], [1], [1]]
    assert second.responses[:2] == first.responses
    assert second.responses[2].result is not None
    assert second.responses[2].result.offset == 1


# -- broadcast, batch, info ----------------------------------------------------------------------


def test_broadcast_partial_failure_is_reported_per_channel(
    server: Target, server_client: Client
) -> None:
    result = server_client.broadcast(
        BroadcastRequest(channels=["personal:#1", "nope:2", "chats:3", ""], data={"x": 1})
    )

    errors = [r.error.code if r.error else None for r in result.responses]
    assert errors == [None, 102, None, 107]
    assert server.delivered("personal:#1") == server.delivered("chats:3") == [{"x": 1}]
    assert raw(server, "/api/broadcast", {"channels": ["news", "nope:1"], "data": 1}).json() == {
        "result": {
            "responses": [
                {"result": {}},
                {"error": {"code": 102, "message": "unknown channel"}},
            ]
        }
    }


def test_batch_replies_in_order(server: Target) -> None:
    body = {
        "commands": [
            {"publish": {"channel": "chats:1", "data": 1}},
            {"publish": {"channel": "nope:1", "data": 1}},
            {"broadcast": {"channels": ["news"], "data": 2}},
            {"info": {}},
            {"unknown_command": {}},
            {},
        ],
        "parallel": True,
    }

    replies = raw(server, "/api/batch", body).json()["replies"]

    assert replies[0] == {"publish": {"offset": 1, "epoch": replies[0]["publish"]["epoch"]}}
    assert replies[1] == {"error": {"code": 102, "message": "unknown channel"}}
    assert replies[2] == {"broadcast": {"responses": [{"result": {}}]}}
    assert replies[3]["info"]["nodes"][0]["version"] in ("6.x-double", "6.9.1 OSS")
    assert replies[4] == replies[5] == {"error": {"code": 104, "message": "not found"}}
    assert server.delivered("chats:1") == [1]


def test_cent_batch(server: Target, server_client: Client) -> None:
    result = server_client.batch(
        BatchRequest(
            requests=[
                PublishRequest(channel="chats:1", data=1),
                PublishRequest(channel="news", data=2),
            ],
            parallel=True,
        )
    )

    assert [reply.offset for reply in result.replies] == [1, 0]
    if server.double is not None:
        assert server.double.requests[-1].body["parallel"] is True


def test_cent_batch_with_an_error_reply_raises_a_plain_key_error(
    server: Target, server_client: Client
) -> None:
    with pytest.raises(KeyError):
        server_client.batch(BatchRequest(requests=[PublishRequest(channel="nope:1", data=1)]))

    if server.double is not None:
        assert server.double.requests[-1].status == 200


def test_info(server: Target, server_client: Client) -> None:
    [node] = server_client.info(InfoRequest()).nodes

    assert node.uid
    assert node.version == {"double": "6.x-double", "real": "6.9.1 OSS"}[server.kind]
    assert node.num_clients == 0
    assert raw(server, "/api/info", b"null").status_code == 200  # Go decodes null as {}


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), [("http_503", 503), ("http_500", 500)])
def test_http_error_faults_raise_transport_error(
    double: CentrifugoDouble, client: Client, kind: str, status: int
) -> None:
    double.fail_next(kind)

    with pytest.raises(CentTransportError) as caught:
        client.publish(PublishRequest(channel="news", data=1))

    assert caught.value.status_code == status
    assert double.publications == []
    client.publish(PublishRequest(channel="news", data=1))  # one fault, consumed
    assert len(double.publications) == 1


def test_http_503_is_bare(double: CentrifugoDouble) -> None:
    double.fail_next("http_503")

    response = raw(double, "/api/publish", publish_body())

    assert (response.status_code, response.content) == (503, b"")


def test_timeout_fault_raises_timeout_error_after_delivering(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("timeout", delay=1.0)
    request = PublishRequest(channel="chats:1", data=1, idempotency_key="k")

    with pytest.raises(CentTimeoutError):
        client.publish(request, timeout=0.3)

    # The server did publish; only its answer was late. A retry with the key is deduplicated.
    wait_for(lambda: double.publications, timeout=5, message="the delayed publication")
    assert client.publish(request).offset == 1
    assert len(double.publications) == 1


def test_drop_fault_raises_network_error_and_delivers_nothing(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("drop")

    with pytest.raises(CentNetworkError):
        client.publish(PublishRequest(channel="news", data=1))

    assert double.publications == []
    assert double.requests[-1].fault == "drop"
    assert double.requests[-1].status is None


def test_code_100_fault_raises_api_error_100(double: CentrifugoDouble, client: Client) -> None:
    double.fail_next("code_100")

    with pytest.raises(CentApiResponseError) as caught:
        client.publish(PublishRequest(channel="news", data=1))

    assert (caught.value.code, caught.value.message) == (100, "internal server error")
    assert double.publications == []
    assert (double.requests[-1].status, double.requests[-1].fault) == (200, "code_100")


def test_code_100_in_broadcast_is_per_channel_and_cent_does_not_raise(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("code_100")

    result = client.broadcast(BroadcastRequest(channels=["news", "nope:1"], data=1))

    assert [r.error.code for r in result.responses if r.error] == [100, 102]
    assert double.publications == []


def test_code_100_waits_for_a_request_that_passes_auth_and_decoding(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("code_100")

    assert raw(double, "/api/publish", publish_body(), headers={}).status_code == 401
    assert raw(double, "/api/publish", b"{").status_code == 400
    assert double.pending_faults == ["code_100"]
    with pytest.raises(CentApiResponseError):
        client.publish(PublishRequest(channel="news", data=1))
    assert double.pending_faults == []


def test_http_400_fault_answers_bad_request_and_processes_nothing(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("http_400")

    with pytest.raises(CentTransportError) as caught:
        client.broadcast(BroadcastRequest(channels=["news", "chats:1"], data=1))

    assert caught.value.status_code == 400
    assert double.publications == []
    assert (double.requests[-1].status, double.requests[-1].fault) == (400, "http_400")
    double.fail_next("http_400")
    response = raw(double, "/api/publish", publish_body())
    assert (response.status_code, response.text) == (400, "Bad Request\n")  # as a bad body


def test_http_400_waits_for_a_request_that_passes_routing_and_auth(
    double: CentrifugoDouble, client: Client
) -> None:
    double.fail_next("http_400")

    assert raw(double, "/api/nope", publish_body()).status_code == 404
    assert raw(double, "/api/publish", method="GET").status_code == 405
    assert raw(double, "/api/publish", publish_body(), headers={}).status_code == 401
    assert double.pending_faults == ["http_400"]
    with pytest.raises(CentTransportError):
        client.publish(PublishRequest(channel="news", data=1))
    assert double.pending_faults == []


def test_faults_are_consumed_in_order(double: CentrifugoDouble, client: Client) -> None:
    double.fail_next("http_503", times=2)
    double.fail_next("code_100")
    outcomes = []

    for _ in range(4):
        try:
            client.publish(PublishRequest(channel="news", data=1))
            outcomes.append("ok")
        except CentError as error:
            outcomes.append(type(error).__name__)

    assert outcomes == [
        "CentTransportError",
        "CentTransportError",
        "CentApiResponseError",
        "ok",
    ]


def test_fail_next_refuses_nonsense(double: CentrifugoDouble) -> None:
    with pytest.raises(ValueError):
        double.fail_next("http_404")
    with pytest.raises(ValueError):
        double.fail_next("timeout")  # needs delay=
    with pytest.raises(ValueError):
        double.fail_next("drop", delay=1)
    with pytest.raises(ValueError):
        double.fail_next("drop", times=0)


def test_stop_does_not_wait_for_a_delayed_answer(double: CentrifugoDouble) -> None:
    double.fail_next("timeout", delay=60)
    errors: list[Exception] = []

    def call() -> None:
        with Client(double.api_url, API_KEY, timeout=30) as patient:
            try:
                patient.publish(PublishRequest(channel="news", data=1))
            except CentError as error:
                errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: double.publications, timeout=5, message="the request to arrive")
    started = time.monotonic()
    double.stop()

    assert time.monotonic() - started < 5
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert [type(error) for error in errors] == [CentNetworkError]


def test_stop_does_not_wait_for_idle_keep_alive_connections(double: CentrifugoDouble) -> None:
    with Client(double.api_url, API_KEY) as kept_open:
        kept_open.info(InfoRequest())
        started = time.monotonic()
        double.stop()

        assert time.monotonic() - started < 5


def test_stopped_server_gives_network_error_and_restarts_on_the_same_url(
    server: Target, server_client: Client
) -> None:
    server.stop()

    with pytest.raises(CentNetworkError):
        server_client.publish(PublishRequest(channel="chats:1", data=1))

    server.start()
    server_client.publish(PublishRequest(channel="chats:1", data=2))
    assert server.delivered("chats:1") == [2]


# -- cent quirks -------------------------------------------------------------------------------


def test_trailing_slash_in_api_url_costs_a_redirect_but_publishes(server: Target) -> None:
    # Centrifugo v6.9.1 answers the unclean path with 307 and requests re-sends the POST with
    # its body (the contract notes said 301, then a GET and 405: true of older Go only).
    with Client(server.api_url + "/", SERVER_KEY) as slashed:
        result = slashed.publish(PublishRequest(channel="chats:1", data=1))

    assert result.offset == 1
    assert server.delivered("chats:1") == [1]
    if server.double is not None:
        seen = [(r.method, r.path, r.status) for r in server.double.requests]
        assert seen == [("POST", "/api//publish", 307), ("POST", "/api/publish", 200)]


def test_wrong_api_path_is_transport_error_404(server: Target) -> None:
    wrong = Client(server.base_url + "/centrifugo/api", SERVER_KEY)
    with wrong, pytest.raises(CentTransportError) as caught:
        wrong.info(InfoRequest())

    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    "value", [datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc), uuid.uuid4()]
)
def test_unserializable_data_is_a_plain_type_error_before_sending(
    double: CentrifugoDouble, client: Client, value: object
) -> None:
    with pytest.raises(TypeError):
        client.publish(PublishRequest(channel="news", data={"value": value}))

    assert double.requests_count == 0


def test_nan_in_data_is_a_requests_error_not_a_cent_error(
    double: CentrifugoDouble, client: Client
) -> None:
    with pytest.raises(requests.exceptions.InvalidJSONError) as caught:
        client.publish(PublishRequest(channel="news", data={"value": float("nan")}))

    assert not isinstance(caught.value, CentError)
    assert double.requests_count == 0


def test_non_string_tags_fail_in_pydantic_before_sending() -> None:
    with pytest.raises(pydantic.ValidationError):
        PublishRequest(channel="news", data=1, tags={"n": 1})


def test_timeout_error_is_only_importable_from_cent_exceptions() -> None:
    assert not hasattr(cent, "CentTimeoutError")
    assert issubclass(CentTimeoutError, CentError)
