"""Real WebSocket clients (centrifuge-python) driven from synchronous tests and benchmarks.

The client is asyncio; it runs on an event loop in a thread of its own, and every method
here waits for its coroutine with a deadline. What the server sends is recorded in lists
the tests poll with ``wait_for``. ``LiveClient`` is one client; ``Crowd`` is many users'
clients on one loop (bench/realtime_fanout.py holds 1,000 of them).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from centrifuge import (
    Client,
    ClientEventHandler,
    DisconnectedContext,
    ErrorContext,
    PublicationContext,
    SubscribedContext,
    Subscription,
    SubscriptionErrorContext,
    SubscriptionEventHandler,
    UnsubscribedContext,
)

T = TypeVar("T")
DEADLINE = 10.0  # seconds for any one client call


@dataclass
class Received:
    """What one subscription saw: publications, subscribe events, unsubscribes and errors."""

    publications: list[tuple[int, Any]] = field(default_factory=list)  # (offset, data)
    arrivals: list[float] = field(default_factory=list)  # time.perf_counter() of each one
    subscribed: list[SubscribedContext] = field(default_factory=list)
    unsubscribed: list[UnsubscribedContext] = field(default_factory=list)
    errors: list[SubscriptionErrorContext] = field(default_factory=list)

    @property
    def data(self) -> list[Any]:
        return [data for _, data in self.publications]


class _SubscriptionEvents(SubscriptionEventHandler):  # type: ignore[misc]
    def __init__(self, received: Received) -> None:
        self.received = received

    async def on_publication(self, ctx: PublicationContext) -> None:
        self.received.arrivals.append(time.perf_counter())
        self.received.publications.append((ctx.pub.offset, ctx.pub.data))

    async def on_subscribed(self, ctx: SubscribedContext) -> None:
        self.received.subscribed.append(ctx)

    async def on_unsubscribed(self, ctx: UnsubscribedContext) -> None:
        self.received.unsubscribed.append(ctx)

    async def on_error(self, ctx: SubscriptionErrorContext) -> None:
        self.received.errors.append(ctx)


class _ClientEvents(ClientEventHandler):  # type: ignore[misc]
    def __init__(self, live: _LoopThread) -> None:
        self.live = live

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        self.live.disconnects.append((ctx.code, ctx.reason))

    async def on_error(self, ctx: ErrorContext) -> None:
        self.live.errors.append(ctx)


class _LoopThread:
    """An event loop in a thread of its own for centrifuge-python clients, and their events."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.disconnects: list[tuple[int, str]] = []
        self.errors: list[ErrorContext] = []

    def _run(self, coroutine: Coroutine[Any, Any, T], deadline: float = DEADLINE) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(deadline)

    def _clients(self) -> Sequence[Client]:
        raise NotImplementedError

    def close(self) -> None:
        """Disconnect, let the clients' tasks and sockets finish, and stop the loop's thread."""
        try:
            self._run(self._close(), deadline=2 * DEADLINE)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=DEADLINE)
            self.loop.close()

    async def _close(self) -> None:
        await asyncio.gather(*(client.disconnect() for client in self._clients()))
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        # The WebSocket close handshakes run in tasks of their own: let them finish first.
        _, pending = await asyncio.wait(others, timeout=DEADLINE / 2) if others else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.loop.shutdown_asyncgens()


class LiveClient(_LoopThread):
    """One centrifuge-python client connected to a real Centrifugo over WebSocket."""

    def __init__(self, ws_url: str, token: str, **options: Any) -> None:
        """``options`` go to centrifuge-python's ``Client`` (e.g. ``max_reconnect_delay``)."""
        super().__init__()
        self.client: Client = self._run(self._make(ws_url, token, options))

    async def _make(self, ws_url: str, token: str, options: dict[str, Any]) -> Client:
        # proxy=None: loopback only, whatever the environment says about proxies.
        return Client(ws_url, events=_ClientEvents(self), token=token, proxy=None, **options)

    def _clients(self) -> Sequence[Client]:
        return [self.client]

    def connect(self) -> None:
        """Connect and wait until connected (raises on a refused token)."""
        self._run(self._connect())

    async def _connect(self) -> None:
        await self.client.connect()
        await self.client.ready(timeout=DEADLINE)

    def subscribe(self, channel: str, token: str = "") -> tuple[Subscription, Received]:
        """A subscription that asks for no recovery itself, as the bundled realtime.js: the
        namespace's ``force_recovery`` must do it. Waits until subscribed (or raises)."""
        received = Received()
        subscription = self._run(_subscribe(self.client, channel, token, received))
        return subscription, received

    def start_subscribing(self, channel: str, token: str = "") -> Received:
        """Subscribe without waiting for the outcome: for subscriptions the server refuses."""
        received = Received()

        async def start() -> None:
            sub = self.client.new_subscription(
                channel, events=_SubscriptionEvents(received), token=token
            )
            await sub.subscribe()

        self._run(start())
        return received

    def disconnect(self) -> None:
        self._run(self.client.disconnect())


async def _subscribe(client: Client, channel: str, token: str, received: Received) -> Subscription:
    subscription = client.new_subscription(
        channel, events=_SubscriptionEvents(received), token=token
    )
    await subscription.subscribe()
    await subscription.ready(timeout=DEADLINE)
    return subscription


class Crowd(_LoopThread):
    """Many clients on one event loop, each connected as its own user and subscribed to one
    channel: ``users`` are (connection token, channel, subscription token) triples."""

    def __init__(self, ws_url: str, users: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.ws_url = ws_url
        self.users = list(users)
        self.received = {channel: Received() for _, channel, _ in self.users}
        self.clients: list[Client] = []

    def _clients(self) -> Sequence[Client]:
        return self.clients

    def connect(self, at_once: int = 50) -> None:
        """Connect and subscribe everyone, ``at_once`` at a time; raises if one is refused."""
        for start in range(0, len(self.users), at_once):
            self._run(self._join(self.users[start : start + at_once]), deadline=3 * DEADLINE)

    async def _join(self, users: Sequence[tuple[str, str, str]]) -> None:
        await asyncio.gather(*(self._join_one(*user) for user in users))

    async def _join_one(self, token: str, channel: str, subscription_token: str) -> None:
        client = Client(self.ws_url, events=_ClientEvents(self), token=token, proxy=None)
        self.clients.append(client)
        await client.connect()
        await client.ready(timeout=DEADLINE)
        await _subscribe(client, channel, subscription_token, self.received[channel])
