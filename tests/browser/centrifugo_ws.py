"""A Centrifugo double with a WebSocket side, for the demo's live feed in a real browser.

The server API is the strict double of ``tests/support/centrifugo.py``. Beside it, a WebSocket
endpoint speaks as much of Centrifugo's JSON client protocol as centrifuge-js needs
(reference/centrifugo-contract.md): ``connect`` with a connection JWT (HS256, ``sub``, no
``channel`` claim), ``subscribe`` with a subscription JWT for the exact channel, or none for
the user's own user-limited ``personal:#<sub>`` channel, and a ``pub`` push for each
publication the API accepts. Anything else is refused and recorded in ``errors``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from websockets.asyncio.server import Server, ServerConnection, serve

from tests.support.centrifugo import DOUBLE_VERSION, CentrifugoDouble, PublishSpec
from tests.support.services import free_port, wait_for

PERMISSION_DENIED = {"code": 103, "message": "permission denied"}
UNAUTHORIZED = {"code": 101, "message": "unauthorized"}
ALREADY_SUBSCRIBED = {"code": 105, "message": "already subscribed"}
INVALID_TOKEN = (3500, "invalid token")  # Centrifugo closes the connection with this


@dataclass
class Session:
    connection: ServerConnection
    user: str | None = None
    channels: set[str] = field(default_factory=set)


class CentrifugoWithWebSocket(CentrifugoDouble):
    def __init__(self, api_key: str, token_secret: str) -> None:
        super().__init__(api_key)
        self.token_secret = token_secret
        self.ws_port = free_port()
        self.sessions: list[Session] = []
        self.pushed: list[tuple[str, Any]] = []  # (channel, data) sent to a subscriber
        self._loop = asyncio.new_event_loop()
        self._ws_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ws_server: Server | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/connection/websocket"

    def start(self) -> None:
        super().start()
        self._ws_thread.start()
        self.start_websocket()

    async def _start(self) -> Server:
        return await serve(self._serve, "127.0.0.1", self.ws_port)

    def stop_websocket(self) -> None:
        """Like a Centrifugo that is down: connections are closed and new ones refused."""
        assert self._ws_server is not None
        self._ws_server.close()
        asyncio.run_coroutine_threadsafe(self._ws_server.wait_closed(), self._loop).result(10)
        self._ws_server = None

    def start_websocket(self) -> None:
        started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self._ws_server = started.result(timeout=10)

    def stop(self) -> None:
        if self._ws_thread.is_alive():
            if self._ws_server is not None:
                self.stop_websocket()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._ws_thread.join(timeout=10)
            self._loop.close()
            self._ws_server = None
        super().stop()

    def subscribers(self, channel: str) -> int:
        return sum(channel in session.channels for session in list(self.sessions))

    def wait_subscribed(self, channel: str, timeout: float = 20) -> None:
        wait_for(lambda: self.subscribers(channel), timeout, f"a subscriber to {channel}")

    # -- the server API side: push what it accepted to the subscribers ---------------------

    def _deliver(
        self, channel: str, spec: PublishSpec, data: Any, command: str, broken: bool
    ) -> dict[str, Any]:
        before = len(self._publications)
        reply = super()._deliver(channel, spec, data, command, broken)
        if len(self._publications) > before:  # delivered, not an idempotent repeat
            publication = self._publications[-1]
            self._loop.call_soon_threadsafe(self._push, channel, publication.data)
        return reply

    def _push(self, channel: str, data: Any) -> None:
        frame = json.dumps({"push": {"channel": channel, "pub": {"data": data}}})
        for session in self.sessions:
            if channel in session.channels:
                self.pushed.append((channel, data))
                self._loop.create_task(session.connection.send(frame))

    # -- the client protocol side ----------------------------------------------------------

    async def _serve(self, connection: ServerConnection) -> None:
        if connection.request is None or connection.request.path != "/connection/websocket":
            self.errors.append(f"WebSocket on an unknown path {connection.request!r}")
            return
        session = Session(connection)
        self.sessions.append(session)
        try:
            async for frame in connection:
                for line in str(frame).split("\n"):
                    if line.strip():
                        await self._command(session, json.loads(line))
        finally:
            self.sessions.remove(session)

    async def _command(self, session: Session, command: dict[str, Any]) -> None:
        if not command:  # a pong
            return
        command_id = command.get("id")
        if "connect" in command:
            reply = self._connect(session, command["connect"])
        elif "subscribe" in command:
            reply = self._subscribe(session, command["subscribe"])
        else:
            self.errors.append(f"command the double does not know: {command!r}")
            reply = {"error": {"code": 104, "message": "method not found"}}
        if reply is None:
            await session.connection.close(*INVALID_TOKEN)
            return
        await session.connection.send(json.dumps({"id": command_id, **reply}))

    def _claims(self, token: str) -> dict[str, Any] | None:
        try:
            claims = jwt.decode(token, self.token_secret, algorithms=["HS256"])
        except jwt.InvalidTokenError as exc:
            self.errors.append(f"token refused: {exc}")
            return None
        return claims if isinstance(claims.get("sub"), str) else None

    def _connect(self, session: Session, request: dict[str, Any]) -> dict[str, Any] | None:
        claims = self._claims(request.get("token", ""))
        if claims is None or "channel" in claims:
            self.errors.append(f"bad connection token claims: {claims!r}")
            return None
        session.user = claims["sub"]
        # ping 0: the double sends no pings, so the client expects none.
        return {"connect": {"client": str(uuid.uuid4()), "version": DOUBLE_VERSION, "ping": 0}}

    def _subscribe(self, session: Session, request: dict[str, Any]) -> dict[str, Any] | None:
        channel = request.get("channel", "")
        if session.user is None:
            return {"error": UNAUTHORIZED}
        if channel in session.channels:
            return {"error": ALREADY_SUBSCRIBED}
        if channel.startswith("personal:"):
            allowed = channel == f"personal:#{session.user}"
        else:
            claims = self._claims(request.get("token", ""))
            if claims is None:
                return None
            allowed = claims.get("channel") == channel and claims["sub"] == session.user
        if not allowed:
            self.errors.append(f"user {session.user} refused {channel!r}")
            return {"error": PERMISSION_DENIED}
        session.channels.add(channel)
        return {"subscribe": {}}
