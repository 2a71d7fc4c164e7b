"""The Centrifugo double, driven by the real ``cent`` 5.2.0 client and by raw HTTP.

These tests pin two things: that the double keeps the contract in
``shared/reference/centrifugo-contract.md``, and what the real ``cent`` client does with each
answer. Facts about ``cent`` 5.2.0 (sync ``Client``, requests 2.x) verified here:

* wrong, missing or unconfigured API key (401)          -> ``CentUnauthorizedError``
* ``Client(api_key="")`` sends no ``X-API-Key`` at all     -> 401 -> ``CentUnauthorizedError``
* ``api_url`` ending in ``/``: POST ``/api//publish`` -> 301 -> requests re-sends it as GET
  -> 405                                                -> ``CentTransportError(405)``
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


def raw(
    double: CentrifugoDouble,
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
        headers=headers if headers is not None else {"X-API-Key": API_KEY},
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
        ({"X-API-Key": API_KEY}, None),
        ({"Authorization": f"apikey {API_KEY}"}, None),
        ({"Authorization": f"ApiKey {API_KEY}"}, None),  # Centrifugo lower-cases the scheme
        ({}, {"api_key": API_KEY}),
    ],
    ids=["x-api-key", "authorization", "authorization-case", "query"],
)
def test_each_auth_method_is_accepted(
    double: CentrifugoDouble, headers: dict[str, str], params: dict[str, str] | None
) -> None:
    response = raw(double, "/api/publish", publish_body(), headers=headers, params=params)

    assert response.status_code == 200
    assert response.json() == {"result": {}}
    assert len(double.publications) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong"},
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": API_KEY},
        {"Authorization": f"apikey {API_KEY} extra"},
        # X-API-Key wins: a wrong one is not rescued by a right Authorization header.
        {"X-API-Key": "wrong", "Authorization": f"apikey {API_KEY}"},
    ],
    ids=["none", "wrong", "bearer", "no-scheme", "three-fields", "x-api-key-first"],
)
def test_wrong_or_missing_key_is_401_with_an_empty_body(
    double: CentrifugoDouble, headers: dict[str, str]
) -> None:
    response = raw(double, "/api/publish", publish_body(), headers=headers)

    assert response.status_code == 401
    assert response.content == b""
    assert double.publications == []


def test_query_key_is_checked_even_after_a_wrong_header(double: CentrifugoDouble) -> None:
    # Centrifugo's APIKeyAuth falls through to ?api_key= whenever the headers did not match.
    headers = {"X-API-Key": "wrong"}
    params = {"api_key": API_KEY}

    assert raw(double, "/api/info", {}, headers=headers, params=params).status_code == 200


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


def test_cent_writes_the_key_into_a_session_passed_in(double: CentrifugoDouble) -> None:
    with requests.Session() as session:
        Client(double.api_url, API_KEY, session=session).info(InfoRequest())

        assert session.headers["X-API-Key"] == API_KEY


# -- HTTP-level answers ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_non_post_is_405_before_auth(double: CentrifugoDouble, method: str) -> None:
    response = raw(double, "/api/publish", method=method, headers={})

    assert response.status_code == 405
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    ["/api/unknown_method", "/api/publish/", "/api/Publish", "/", "/publish", "/api/x/publish"],
)
def test_unknown_path_is_404_page_not_found(double: CentrifugoDouble, path: str) -> None:
    response = raw(double, path, publish_body())

    assert response.status_code == 404
    assert response.content == b"404 page not found\n"


def test_unclean_path_is_redirected_to_the_clean_one(double: CentrifugoDouble) -> None:
    response = raw(double, "/api//publish", publish_body(), params={"x": "1"})

    assert response.status_code == 301
    assert response.headers["Location"] == "/api/publish?x=1"
    assert response.content == b""
    assert double.publications == []


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
        ("/api/batch", {"commands": [{"publish": publish_body(tags={"a": None})}]}),
        ("/api/batch", {"commands": [], "parallel": "yes"}),
        ("/api/info", b"[]"),
    ],
)
def test_undecodable_body_is_400_bad_request(
    double: CentrifugoDouble, path: str, body: Any
) -> None:
    response = raw(double, path, body)

    assert response.status_code == 400
    assert response.content == b"Bad Request\n"
    assert double.publications == []


def test_unknown_fields_are_ignored_as_go_does(double: CentrifugoDouble) -> None:
    response = raw(double, "/api/publish", publish_body(future_field={"x": 1}))

    assert response.json() == {"result": {}}


# -- API errors ----------------------------------------------------------------------------------


def test_missing_data_is_107_but_json_null_data_is_delivered(double: CentrifugoDouble) -> None:
    missing = raw(double, "/api/publish", {"channel": "news"})
    null = raw(double, "/api/publish", {"channel": "news", "data": None})

    assert missing.status_code == 200
    assert missing.json() == {"error": {"code": 107, "message": "bad request"}}
    assert null.json() == {"result": {}}
    assert [pub.data for pub in double.publications] == [None]


def test_cent_drops_data_none_so_the_server_says_107(
    double: CentrifugoDouble, client: Client
) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        client.publish(PublishRequest(channel="news", data=None))

    assert caught.value.code == 107
    assert "data" not in double.requests[-1].body


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "", "data": 1},
        {"data": 1},
        {"channel": None, "data": 1},  # Go decodes null as the zero value: empty channel
        {"channel": "news", "b64data": "not base64!"},
        {"channel": "news", "data": 1, "b64data": "YWJj="},  # wrong padding
        {"channel": "caf\u00e9", "data": 1},
        {"channel": "x" * 256, "data": 1},
    ],
    ids=["empty", "absent", "null", "bad-b64", "b64-padding", "non-ascii", "too-long"],
)
def test_bad_publish_is_107(double: CentrifugoDouble, body: dict[str, Any]) -> None:
    response = raw(double, "/api/publish", body)

    assert response.json() == {"error": {"code": 107, "message": "bad request"}}
    assert double.publications == []


def test_longest_allowed_channel_and_b64data_are_delivered(double: CentrifugoDouble) -> None:
    longest = "x" * 255
    encoded = base64.b64encode(b"\x00binary").decode()

    assert raw(double, "/api/publish", {"channel": longest, "data": 1}).json() == {"result": {}}
    assert raw(double, "/api/publish", {"channel": "news", "b64data": encoded}).json() == {
        "result": {}
    }
    assert [pub.data for pub in double.publications] == [1, b"\x00binary"]


def test_unknown_namespace_is_102(double: CentrifugoDouble, client: Client) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        client.publish(PublishRequest(channel="nope:1", data=1))

    assert (caught.value.code, caught.value.message) == (102, "unknown channel")
    assert double.publications == []


@pytest.mark.parametrize("channel", ["news", "personal:#42", "$personal:secret", ":odd", "a:b:c"])
def test_default_and_configured_namespaces(double: CentrifugoDouble, channel: str) -> None:
    response = raw(double, "/api/publish", publish_body(channel))

    if channel == "a:b:c":  # namespace "a" is not configured
        assert response.json()["error"]["code"] == 102
    else:
        assert response.json() == {"result": {}}


def test_empty_broadcast_is_107(double: CentrifugoDouble, client: Client) -> None:
    with pytest.raises(CentApiResponseError) as caught:
        client.broadcast(BroadcastRequest(channels=[], data=1))

    assert caught.value.code == 107


def test_namespaces_are_validated_like_centrifugo_config() -> None:
    with pytest.raises(ValueError):
        CentrifugoDouble(API_KEY, namespaces={"a"})  # names need two characters at least
    with pytest.raises(ValueError):
        CentrifugoDouble(API_KEY, history_namespaces={"other"})


# -- publish results and recording -------------------------------------------------------------


def test_publish_without_history_returns_an_empty_result(
    double: CentrifugoDouble, client: Client
) -> None:
    result = client.publish(PublishRequest(channel="personal:#1", data={"text": "hi"}))

    assert (result.offset, result.epoch) == (0, "")
    assert raw(double, "/api/publish", publish_body()).json() == {"result": {}}


def test_publish_with_history_returns_offset_and_epoch(client: Client) -> None:
    first = client.publish(PublishRequest(channel="chats:1", data=1))
    second = client.publish(PublishRequest(channel="chats:1", data=2))
    skipped = client.publish(PublishRequest(channel="chats:1", data=3, skip_history=True))

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
    double: CentrifugoDouble, client: Client
) -> None:
    request = PublishRequest(channel="chats:9", data={"v": 1}, idempotency_key="event-1")

    first = client.publish(request)
    again = client.publish(request)

    assert again == first
    assert first.offset == 1
    assert len(double.publications_to("chats:9")) == 1
    assert double.requests_count == 2


def test_same_key_on_another_channel_is_delivered(
    double: CentrifugoDouble, client: Client
) -> None:
    client.publish(PublishRequest(channel="chats:1", data=1, idempotency_key="same"))
    client.publish(PublishRequest(channel="chats:2", data=1, idempotency_key="same"))

    assert [pub.channel for pub in double.publications] == ["chats:1", "chats:2"]


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


def test_broadcast_idempotency_is_per_channel(double: CentrifugoDouble, client: Client) -> None:
    first = client.broadcast(
        BroadcastRequest(channels=["chats:1", "chats:2"], data=1, idempotency_key="k")
    )
    second = client.broadcast(
        BroadcastRequest(channels=["chats:1", "chats:2", "chats:3"], data=1, idempotency_key="k")
    )

    assert [pub.channel for pub in double.publications] == ["chats:1", "chats:2", "chats:3"]
    assert second.responses[:2] == first.responses
    assert second.responses[2].result is not None
    assert second.responses[2].result.offset == 1


# -- broadcast, batch, info ----------------------------------------------------------------------


def test_broadcast_partial_failure_is_reported_per_channel(
    double: CentrifugoDouble, client: Client
) -> None:
    result = client.broadcast(
        BroadcastRequest(channels=["personal:#1", "nope:2", "chats:3", ""], data={"x": 1})
    )

    errors = [r.error.code if r.error else None for r in result.responses]
    assert errors == [None, 102, None, 107]
    assert [pub.channel for pub in double.publications] == ["personal:#1", "chats:3"]
    assert raw(double, "/api/broadcast", {"channels": ["news", "nope:1"], "data": 1}).json() == {
        "result": {
            "responses": [
                {"result": {}},
                {"error": {"code": 102, "message": "unknown channel"}},
            ]
        }
    }


def test_batch_replies_in_order(double: CentrifugoDouble) -> None:
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

    replies = raw(double, "/api/batch", body).json()["replies"]

    assert replies[0] == {"publish": {"offset": 1, "epoch": replies[0]["publish"]["epoch"]}}
    assert replies[1] == {"error": {"code": 102, "message": "unknown channel"}}
    assert replies[2] == {"broadcast": {"responses": [{"result": {}}]}}
    assert replies[3]["info"]["nodes"][0]["version"] == "6.x-double"
    assert replies[4] == replies[5] == {"error": {"code": 104, "message": "not found"}}
    assert [pub.channel for pub in double.publications] == ["chats:1", "news"]


def test_cent_batch(double: CentrifugoDouble, client: Client) -> None:
    result = client.batch(
        BatchRequest(
            requests=[
                PublishRequest(channel="chats:1", data=1),
                PublishRequest(channel="staff:1", data=2),
            ],
            parallel=True,
        )
    )

    assert [reply.offset for reply in result.replies] == [1, 0]
    assert double.requests[-1].body["parallel"] is True


def test_cent_batch_with_an_error_reply_raises_a_plain_key_error(
    double: CentrifugoDouble, client: Client
) -> None:
    with pytest.raises(KeyError):
        client.batch(BatchRequest(requests=[PublishRequest(channel="nope:1", data=1)]))

    assert double.requests[-1].status == 200


def test_info(double: CentrifugoDouble, client: Client) -> None:
    [node] = client.info(InfoRequest()).nodes

    assert node.uid == double.node_uid
    assert node.version == "6.x-double"
    assert node.num_clients == 0
    assert raw(double, "/api/info", b"null").status_code == 200  # Go decodes null as {}


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
    double: CentrifugoDouble, client: Client
) -> None:
    double.stop()

    with pytest.raises(CentNetworkError):
        client.publish(PublishRequest(channel="news", data=1))

    double.start()
    client.publish(PublishRequest(channel="news", data=1))
    assert len(double.publications) == 1


# -- cent quirks -------------------------------------------------------------------------------


def test_trailing_slash_in_api_url_ends_in_405(double: CentrifugoDouble) -> None:
    with Client(double.api_url + "/", API_KEY) as slashed, pytest.raises(CentTransportError) as e:
        slashed.publish(PublishRequest(channel="news", data=1))

    assert e.value.status_code == 405
    seen = [(r.method, r.path, r.status) for r in double.requests]
    assert seen == [("POST", "/api//publish", 301), ("GET", "/api/publish", 405)]
    assert double.publications == []


def test_wrong_api_path_is_transport_error_404(double: CentrifugoDouble) -> None:
    wrong = Client(double.base_url + "/centrifugo/api", API_KEY)
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
