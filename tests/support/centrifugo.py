"""A strict HTTP double of Centrifugo's server API, for tests that run the real ``cent`` client.

This is a contract double written from ``shared/reference/centrifugo-contract.md`` (and checked
against Centrifugo's own routing and handler code: Go ``net/http.ServeMux``, ``middleware.Post``,
``middleware.APIKeyAuth``, ``api.Executor``). It is **strict by design**: it rejects everything
Centrifugo rejects, the way Centrifugo rejects it (status, body, error code), and it never accepts
what Centrifugo would refuse. A test that passes against it must not depend on leniency the real
server does not have. Where it is knowingly *stricter* than the real server, the place says so.

What it serves, on ``127.0.0.1`` and a free port (``api_url`` is ``http://127.0.0.1:PORT/api``):

* ``POST /api/publish``, ``/api/broadcast``, ``/api/batch``, ``/api/info``.
* Routing as Go's ServeMux does it: a path that is not clean (``/api//publish``, what ``cent``
  builds from an ``api_url`` ending in ``/``) gets ``307`` to the clean path (Go 1.22's mux,
  as Centrifugo v6.9.1 answers: the client re-sends the POST there); unknown paths
  (``/api/publish/``, ``/api/nope``) get ``404`` ``404 page not found``.
* Middleware order as in Centrifugo: non-POST is ``405`` (empty body) before auth; then the API
  key: ``X-API-Key``, else ``Authorization: apikey <key>``, then ``?api_key=``; a wrong or
  missing key, or no key configured, is ``401`` with an empty body.
* A body Go's ``encoding/json`` cannot decode into the request struct is ``400`` ``Bad Request``.
  API errors are HTTP ``200`` with ``{"error": {"code": N, "message": ...}}``.
* Real Centrifugo routes this double does not implement (``/api/presence``, the legacy single
  ``/api`` endpoint, ...) answer ``501`` so a test that strays there fails loudly.

Everything is recorded (``requests``, ``publications``) and faults can be injected in order
(``fail_next``). Handler bugs are kept in ``errors`` and answered ``500``; fixtures should assert
``errors == []`` at teardown.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.services import free_port

DEFAULT_NAMESPACES = frozenset({"personal", "chats", "staff"})
IDEMPOTENCY_WINDOW = 300.0  # seconds; centrifuge keeps idempotent results for 5 minutes
CHANNEL_MAX_LENGTH = 255  # Centrifugo's default channel_max_length
DOUBLE_VERSION = "6.x-double"
FAULT_KINDS = ("http_503", "http_500", "timeout", "drop", "http_400", "code_100")
# Where in Centrifugo's request path each fault strikes: before anything else (a proxy or a
# server going away), at body decoding (after routing and auth), or in the broker (valid
# requests only). A queued fault waits for a request that reaches its stage.
TRANSPORT, DECODING, BROKER = "transport", "decoding", "broker"
FAULT_STAGE = {
    "http_503": TRANSPORT,
    "http_500": TRANSPORT,
    "timeout": TRANSPORT,
    "drop": TRANSPORT,
    "http_400": DECODING,
    "code_100": BROKER,
}

ERROR_INTERNAL = {"code": 100, "message": "internal server error"}
ERROR_UNKNOWN_CHANNEL = {"code": 102, "message": "unknown channel"}
ERROR_NOT_FOUND = {"code": 104, "message": "not found"}
ERROR_BAD_REQUEST = {"code": 107, "message": "bad request"}

IMPLEMENTED_METHODS = ("publish", "broadcast", "batch", "info")
# Routes open-source Centrifugo registers under /api/ (handler.go Routes()).
CENTRIFUGO_METHODS = frozenset(
    {
        *IMPLEMENTED_METHODS,
        "subscribe",
        "unsubscribe",
        "disconnect",
        "presence",
        "presence_stats",
        "history",
        "history_remove",
        "rpc",
        "refresh",
        "channels",
    }
)
# Keys of a batch command, in the order Centrifugo's processCmd tries them.
BATCH_COMMAND_ORDER = (
    "publish",
    "broadcast",
    "subscribe",
    "unsubscribe",
    "disconnect",
    "history",
    "history_remove",
    "presence",
    "presence_stats",
    "info",
    "rpc",
    "refresh",
    "channels",
)
LEGACY_ROUTE = ""  # the old single /api endpoint (method in the body)
NAMESPACE_NAME = re.compile(r"^[-a-zA-Z0-9_]{2,}$")
# Go's base64.StdEncoding: padded, padding only at the end. (Go also skips CR/LF; we refuse them.)
STD_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
PRIVATE_CHANNEL_PREFIX = "$"
NAMESPACE_BOUNDARY = ":"


@dataclass
class RecordedRequest:
    """One HTTP request as the double received it."""

    method: str
    path: str  # as sent, before any cleaning or routing
    query: str
    headers: dict[str, str]  # names lower-cased
    raw_body: bytes
    body: Any  # the parsed JSON body, or None when it is not JSON
    status: int | None = None  # what the double answered; None for "drop" or an aborted answer
    fault: str | None = None  # the injected fault this request consumed, if any


@dataclass(frozen=True)
class Publication:
    """One publication the double actually delivered into a channel."""

    channel: str
    data: Any  # the decoded JSON ``data``, or bytes when it came as ``b64data``
    idempotency_key: str | None
    tags: dict[str, str]
    command: str  # "publish" or "broadcast" (also inside a batch)
    offset: int = 0  # 0 unless the channel's namespace keeps history
    epoch: str = ""


@dataclass(frozen=True)
class Fault:
    kind: str
    delay: float = 0.0


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PublishSpec:
    """The validated body of a publish or broadcast, minus the channel(s)."""

    data: Any
    has_data: bool
    b64data: str
    skip_history: bool
    tags: dict[str, str]
    idempotency_key: str


class BadRequest(Exception):
    """Go's json.Unmarshal would fail on this body: Centrifugo answers 400 Bad Request."""


class NotImplementedByDouble(Exception):
    """A real Centrifugo feature the double does not implement: answered 501."""


class CentrifugoDouble:
    """A real HTTP server that behaves like Centrifugo's server API, strictly."""

    def __init__(
        self,
        api_key: str | None,
        *,
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
        history_namespaces: Iterable[str] = (),
        idempotency_window: float = IDEMPOTENCY_WINDOW,
        validate_channel_names: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``history_namespaces`` may name ``""``, the default namespace.

        ``validate_channel_names=True`` makes publishing into a channel that is not ASCII or is
        longer than 255 characters a 107. The real server API does not check this (v6.9.1
        publishes into ``café`` and a 256-character channel), so it is off by default and a
        test that wants the stricter answer asks for it.
        """
        self.namespaces = frozenset(namespaces)
        self.history_namespaces = frozenset(history_namespaces)
        check_namespaces(self.namespaces, self.history_namespaces)
        self.idempotency_window = idempotency_window
        self.validate_channel_names = validate_channel_names
        self.clock = clock
        self.port = free_port()
        self.node_uid = str(uuid.uuid4())
        self._api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._publications: list[Publication] = []
        self._faults: list[Fault] = []
        self._idempotent: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self._streams: dict[str, tuple[int, str]] = {}  # channel -> (top offset, epoch)
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._server: DoubleHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._started_at = time.monotonic()
        self.errors: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def start(self) -> None:
        """Listen on the same port every time, so a test can stop and restart "Centrifugo"."""
        self._stopping.clear()
        self._server = DoubleHTTPServer(("127.0.0.1", self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"centrifugo-double-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop at once, even with a delayed ("timeout") answer or idle keep-alive connections."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes handlers waiting out a "timeout" fault
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:  # unblocks handlers reading the next keep-alive request
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for handler_thread in threads:
            handler_thread.join(timeout=5)
        thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> CentrifugoDouble:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration and fault injection ---------------------------------------------------

    @property
    def api_key(self) -> str | None:
        return self._api_key

    def set_api_key(self, api_key: str | None) -> None:
        """Simulate a key rotation (or removing the key: then every request is 401)."""
        with self._lock:
            self._api_key = api_key

    def fail_next(self, kind: str, times: int = 1, *, delay: float | None = None) -> None:
        """Queue ``times`` faults of ``kind``; queued faults are consumed strictly in order.

        * ``http_503``: bare 503, empty body (what Centrifugo answers while shutting down).
        * ``http_500``: 500 ``Internal Server Error``.
        * ``drop``: the request is read, then the socket is closed without an answer and
          nothing is processed.
        * ``timeout``: the request *is* processed (a publication is delivered), then the answer
          is held for ``delay`` seconds, so a client with a shorter timeout gives up on a
          publication that did happen. ``stop()`` cuts the wait short.
        * ``http_400``: ``400`` ``Bad Request``, what Centrifugo answers for a body Go's
          ``encoding/json`` cannot decode (as from a client or proxy that mangles bodies).
          Nothing is processed.
        * ``code_100``: HTTP 200 with API error 100 wherever the request would deliver (the
          broker failed): top-level for publish and info, per channel inside broadcast, per
          command inside batch. Nothing is delivered.

        The four transport faults hit the next request whatever it is; ``http_400`` waits for
        the next request that passes routing and auth, as Centrifugo decodes the body only
        then; ``code_100`` waits for the next request that passes routing, auth and body
        validation, as a broker error can.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if kind == "timeout":
            if delay is None or delay <= 0:
                raise ValueError("a timeout fault needs delay= seconds, longer than the client's")
        elif delay is not None:
            raise ValueError("delay= only applies to the timeout fault")
        with self._lock:
            self._faults.extend(Fault(kind, delay or 0.0) for _ in range(times))

    @property
    def pending_faults(self) -> list[str]:
        with self._lock:
            return [fault.kind for fault in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- recordings --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every HTTP request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def requests_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def publications(self) -> list[Publication]:
        """A snapshot of every publication actually delivered, in delivery order."""
        with self._lock:
            return list(self._publications)

    def publications_to(self, channel: str) -> list[Publication]:
        return [pub for pub in self.publications if pub.channel == channel]

    def clear_records(self) -> None:
        """Forget recorded requests and publications (not idempotency or history state)."""
        with self._lock:
            self._requests.clear()
            self._publications.clear()

    # -- request handling (called from handler threads) --------------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
                self._handler_threads.add(threading.current_thread())
            else:
                self._connections.discard(conn)
                self._handler_threads.discard(threading.current_thread())

    def _handle(self, handler: DoubleRequestHandler) -> None:
        try:
            raw = read_body(handler)
        except ValueError:
            handler.close_connection = True
            write_reply(handler, text_reply(400, "Bad Request"))
            return
        split = urlsplit(handler.path)
        record = RecordedRequest(
            method=handler.command,
            path=unquote(split.path),
            query=split.query,
            headers={name.lower(): value for name, value in handler.headers.items()},
            raw_body=raw,
            body=parse_json_or_none(raw),
        )
        with self._lock:
            self._requests.append(record)
            fault = self._take_fault(TRANSPORT)
        record.fault = fault.kind if fault else None
        if fault is not None and fault.kind == "drop":
            abort_connection(handler)
            return
        if fault is not None and fault.kind == "http_503":
            reply = Reply(503)
        elif fault is not None and fault.kind == "http_500":
            reply = text_reply(500, "Internal Server Error")
        else:
            reply = self._safe_answer(handler.command, record, handler.headers)
        if fault is not None and fault.kind == "timeout" and self._stopping.wait(fault.delay):
            abort_connection(handler)  # stopping: the answer is never sent
            return
        record.status = reply.status
        write_reply(handler, reply)

    def _take_fault(self, stage: str) -> Fault | None:
        """Pop the head of the fault queue if it strikes at ``stage`` (lock held)."""
        if self._faults and FAULT_STAGE[self._faults[0].kind] == stage:
            return self._faults.pop(0)
        return None

    def _safe_answer(self, method: str, record: RecordedRequest, headers: Message) -> Reply:
        try:
            return self._answer(method, record, headers)
        except Exception:  # a bug in the double must fail the test, not hang it
            self.errors.append(traceback.format_exc())
            return text_reply(500, "CentrifugoDouble internal error")

    def _answer(self, method: str, record: RecordedRequest, headers: Message) -> Reply:
        clean = clean_path(record.path)
        if clean != record.path:
            return redirect_reply(clean, record.query, method)
        route = route_of(record.path)
        if route is None:
            return text_reply(404, "404 page not found")
        if method != "POST":
            return Reply(405)
        if not self._authorized(headers, record.query):
            return Reply(401)
        if route not in IMPLEMENTED_METHODS:
            what = "the legacy /api endpoint" if route == LEGACY_ROUTE else f"/api/{route}"
            return text_reply(501, f"CentrifugoDouble does not implement {what}")
        with self._lock:
            fault = self._take_fault(DECODING)
        if fault is not None:
            record.fault = fault.kind
            return text_reply(400, "Bad Request")
        try:
            body = decode_object(record.raw_body)
            result = self._execute(route, body, record)
        except BadRequest:
            return text_reply(400, "Bad Request")
        except NotImplementedByDouble as exc:
            return text_reply(501, f"CentrifugoDouble does not implement {exc}")
        return json_reply(result)

    def _authorized(self, headers: Message, query: str) -> bool:
        """Exactly Centrifugo's APIKeyAuth middleware, including its fall-through to the query."""
        with self._lock:
            key = self._api_key
        if not key:
            return False
        valid = False
        header_key = headers.get("X-API-Key", "")
        if header_key:
            valid = same_secret(key, header_key)
        else:
            parts = headers.get("Authorization", "").split()
            valid = len(parts) == 2 and parts[0].lower() == "apikey" and same_secret(key, parts[1])
        if not valid and query:
            values = parse_qs(query, keep_blank_values=True).get("api_key", [""])
            valid = same_secret(key, values[0])
        return valid

    # -- API methods -------------------------------------------------------------------------

    def _execute(
        self, route: str, body: dict[str, Any], record: RecordedRequest
    ) -> dict[str, Any]:
        """Validate the whole body first (400), then run it; broker faults hit valid ones only."""
        if route == "publish":
            channel, spec = parse_publish(body)
            with self._lock:
                return self._publish(channel, spec, self._take_broker_fault(record))
        if route == "broadcast":
            channels, spec = parse_broadcast(body)
            with self._lock:
                return self._broadcast(channels, spec, self._take_broker_fault(record))
        if route == "info":  # InfoRequest has no fields: any object decodes
            with self._lock:
                return self._info(self._take_broker_fault(record))
        commands = parse_batch(body)
        with self._lock:
            broken = self._take_broker_fault(record)
            return {"replies": [self._batch_reply(cmd, broken) for cmd in commands]}

    def _take_broker_fault(self, record: RecordedRequest) -> bool:
        """Consume a queued code_100 if it is next (lock held); True means the broker fails."""
        fault = self._take_fault(BROKER)
        if fault is None:
            return False
        record.fault = fault.kind
        return True

    def _publish(self, channel: str, spec: PublishSpec, broken: bool) -> dict[str, Any]:
        """Centrifugo's Executor.Publish, in its order of checks (lock held)."""
        if channel == "":
            return {"error": ERROR_BAD_REQUEST}
        data, ok = payload_of(spec)
        if not ok:
            return {"error": ERROR_BAD_REQUEST}
        return self._deliver(channel, spec, data, "publish", broken)

    def _broadcast(self, channels: list[str], spec: PublishSpec, broken: bool) -> dict[str, Any]:
        """Centrifugo's Executor.Broadcast: 107 for the whole call, other errors per channel."""
        if not channels:
            return {"error": ERROR_BAD_REQUEST}
        data, ok = payload_of(spec)
        if not ok:
            return {"error": ERROR_BAD_REQUEST}
        responses = []
        for channel in channels:
            if channel == "":
                responses.append({"error": ERROR_BAD_REQUEST})
            else:
                responses.append(self._deliver(channel, spec, data, "broadcast", broken))
        return {"result": {"responses": responses}}

    def _deliver(
        self, channel: str, spec: PublishSpec, data: Any, command: str, broken: bool
    ) -> dict[str, Any]:
        """Namespace lookup, then the broker: idempotency, history position, delivery."""
        if self.validate_channel_names and not valid_channel_name(channel):
            return {"error": ERROR_BAD_REQUEST}
        namespace = namespace_of(channel)
        if namespace and namespace not in self.namespaces:
            return {"error": ERROR_UNKNOWN_CHANNEL}
        if broken:
            return {"error": ERROR_INTERNAL}
        now = self.clock()
        key = (channel, spec.idempotency_key)
        if spec.idempotency_key:
            cached = self._idempotent.get(key)
            if cached is not None and now - cached[1] < self.idempotency_window:
                return {"result": dict(cached[0])}
        result = self._next_position(channel, namespace, spec.skip_history)
        self._publications.append(
            Publication(
                channel=channel,
                data=data,
                idempotency_key=spec.idempotency_key or None,
                tags=dict(spec.tags),
                command=command,
                offset=result.get("offset", 0),
                epoch=result.get("epoch", ""),
            )
        )
        if spec.idempotency_key:
            self._idempotent[key] = (dict(result), now)
        return {"result": result}

    def _next_position(self, channel: str, namespace: str, skip_history: bool) -> dict[str, Any]:
        if skip_history or namespace not in self.history_namespaces:
            return {}  # no stream position: Centrifugo omits zero offset and empty epoch
        offset, epoch = self._streams.get(channel, (0, secrets.token_urlsafe(3)))
        self._streams[channel] = (offset + 1, epoch)
        return {"offset": offset + 1, "epoch": epoch}

    def _info(self, broken: bool) -> dict[str, Any]:
        if broken:
            return {"error": ERROR_INTERNAL}
        node = {
            "uid": self.node_uid,
            "name": f"centrifugo-double-{self.port}",
            "version": DOUBLE_VERSION,
            "num_clients": 0,
            "num_users": 0,
            "num_subs": 0,
            "num_channels": 0,
            "uptime": int(time.monotonic() - self._started_at),
        }
        return {"result": {"nodes": [node]}}

    def _batch_reply(self, command: tuple[str, Any], broken: bool) -> dict[str, Any]:
        """One reply of a batch: ``{"<method>": result}`` or ``{"error": ...}`` (lock held)."""
        name, params = command
        if name == "publish":
            response = self._publish(*params, broken)
        elif name == "broadcast":
            response = self._broadcast(*params, broken)
        elif name == "info":
            response = self._info(broken)
        else:
            return {"error": ERROR_NOT_FOUND}
        if "error" in response:
            return {"error": response["error"]}
        return {name: response["result"]}


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes connections itself; never join idle keep-alive reads

    def __init__(self, address: tuple[str, int], double: CentrifugoDouble) -> None:
        self.double = double
        super().__init__(address, DoubleRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a reverse DNS lookup; not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and went away is normal here; anything else is a double bug.
        if not isinstance(sys.exc_info()[1], OSError):
            self.double.errors.append(traceback.format_exc())


class DoubleRequestHandler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive request, which Centrifugo does not.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"  # keep-alive, like Go's server and requests' pooled sessions
    server_version = "CentrifugoDouble"
    server: DoubleHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.double._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.double._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the double records requests itself

    def do_POST(self) -> None:
        self.server.double._handle(self)

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST


# -- HTTP helpers ------------------------------------------------------------------------------


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, from Content-Length or chunked framing; ValueError if malformed."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    if length < 0:
        raise ValueError("negative Content-Length")
    return handler.rfile.read(length)


def write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if handler.command != "HEAD" and reply.body:
            handler.wfile.write(reply.body)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True  # the client gave up (e.g. after its own timeout)


def abort_connection(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def text_reply(status: int, message: str) -> Reply:
    """Go's http.Error: the message plus a newline, as plain text."""
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return Reply(status, f"{message}\n".encode(), headers)


def json_reply(payload: dict[str, Any]) -> Reply:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Reply(200, body, [("Content-Type", "application/json")])


def redirect_reply(clean: str, query: str, method: str) -> Reply:
    """Go's ServeMux answer to an unclean path: 307 (the method and body are kept); a body only
    for GET, as http.Redirect writes it. Centrifugo v6.9.1 answers so, not 301 as older Go."""
    location = f"{clean}?{query}" if query else clean
    if method != "GET":
        return Reply(307, b"", [("Location", location)])
    body = f'<a href="{location}">Temporary Redirect</a>.\n\n'.encode()
    return Reply(307, body, [("Location", location), ("Content-Type", "text/html; charset=utf-8")])


def clean_path(path: str) -> str:
    """Go's net/http cleanPath: path.Clean, keeping a trailing slash."""
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def route_of(path: str) -> str | None:
    """The API method a clean path is registered for, LEGACY_ROUTE for /api, or None (404)."""
    if path == "/api":
        return LEGACY_ROUTE
    if path.startswith("/api/") and path[len("/api/") :] in CENTRIFUGO_METHODS:
        return path[len("/api/") :]
    return None


def same_secret(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


# -- body decoding, with Go encoding/json semantics -------------------------------------------


def reject_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not JSON")  # Python accepts NaN/Infinity; Go does not


def parse_json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError, BadRequest):
        return None


def decode_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; JSON null decodes to the zero struct, as in Go."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # includes empty body and a UTF-8 BOM
        raise BadRequest(str(exc)) from exc
    return optional_object(value)


def optional_object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("not a JSON object")
    return value


def optional_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be a boolean")
    return value


def optional_tags(body: dict[str, Any], name: str) -> dict[str, str]:
    """A string-to-string map; a null value decodes as "" (Go's zero value), as v6.9.1 does."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
        raise BadRequest(f"{name} must map strings to strings")
    return {key: item or "" for key, item in value.items()}


def optional_str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(f"{name} must be a list of strings")
    return list(value)


def parse_spec(body: dict[str, Any]) -> PublishSpec:
    """Fields shared by publish and broadcast; ``data`` may be anything, JSON null included."""
    optional_bool(body, "delta")  # Centrifugo v6 field: only its type matters here
    return PublishSpec(
        data=body.get("data"),
        has_data="data" in body,
        b64data=optional_str(body, "b64data"),
        skip_history=optional_bool(body, "skip_history"),
        tags=optional_tags(body, "tags"),
        idempotency_key=optional_str(body, "idempotency_key"),
    )


def parse_publish(body: dict[str, Any]) -> tuple[str, PublishSpec]:
    return optional_str(body, "channel"), parse_spec(body)


def parse_broadcast(body: dict[str, Any]) -> tuple[list[str], PublishSpec]:
    return optional_str_list(body, "channels"), parse_spec(body)


def parse_batch(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each command as (method, parsed params); ("", None) for a command Centrifugo lacks."""
    optional_bool(body, "parallel")  # the double always runs commands in order
    raw_commands = body.get("commands")
    if raw_commands is None:
        return []
    if not isinstance(raw_commands, list):
        raise BadRequest("commands must be a list")
    return [parse_batch_command(command) for command in raw_commands]


def parse_batch_command(command: Any) -> tuple[str, Any]:
    if not isinstance(command, dict):
        raise BadRequest("a batch command must be an object")
    for name in BATCH_COMMAND_ORDER:  # Go decodes every known field, so all must type-check
        if command.get(name) is not None and not isinstance(command[name], dict):
            raise BadRequest(f"{name} must be an object")
    for name in BATCH_COMMAND_ORDER:  # processCmd runs the first non-null one
        params = command.get(name)
        if params is None:
            continue
        if name == "publish":
            return name, parse_publish(params)
        if name == "broadcast":
            return name, parse_broadcast(params)
        if name == "info":
            return name, None
        raise NotImplementedByDouble(f"the {name} command inside batch")
    return "", None  # Centrifugo answers 104 not found for it


# -- channel rules -----------------------------------------------------------------------------


def payload_of(spec: PublishSpec) -> tuple[Any, bool]:
    """(data to deliver, ok). b64data wins over data; a missing payload is 107 (null is not)."""
    if spec.b64data:
        if not STD_BASE64.fullmatch(spec.b64data):  # Python's decoder forgives extra padding
            return None, False
        return base64.b64decode(spec.b64data), True
    return spec.data, spec.has_data


def namespace_of(channel: str) -> str:
    """Centrifugo's namespaceName: strip the private prefix, take what precedes the first ':'."""
    trimmed = channel.removeprefix(PRIVATE_CHANNEL_PREFIX)
    if NAMESPACE_BOUNDARY in trimmed:
        return trimmed.split(NAMESPACE_BOUNDARY, 1)[0]
    return ""


def valid_channel_name(channel: str) -> bool:
    return channel.isascii() and len(channel) <= CHANNEL_MAX_LENGTH


def check_namespaces(namespaces: frozenset[str], history: frozenset[str]) -> None:
    """Refuse a configuration Centrifugo itself would refuse to start with."""
    for name in namespaces:
        if not NAMESPACE_NAME.match(name):
            raise ValueError(
                f"invalid namespace name {name!r}: must match {NAMESPACE_NAME.pattern}"
            )
    unknown = history - namespaces - {""}
    if unknown:
        raise ValueError(f"history_namespaces not among namespaces: {sorted(unknown)}")
