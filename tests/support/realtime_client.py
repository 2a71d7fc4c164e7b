"""A real WebSocket client (centrifuge-python) driven from synchronous tests.

The client is asyncio; it runs on an event loop in a thread of its own, and every method
here waits for its coroutine with a deadline. What the server sends is recorded in lists
the tests poll with ``wait_for``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
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
        self.received.publications.append((ctx.pub.offset, ctx.pub.data))

    async def on_subscribed(self, ctx: SubscribedContext) -> None:
        self.received.subscribed.append(ctx)

    async def on_unsubscribed(self, ctx: UnsubscribedContext) -> None:
        self.received.unsubscribed.append(ctx)

    async def on_error(self, ctx: SubscriptionErrorContext) -> None:
        self.received.errors.append(ctx)


class _ClientEvents(ClientEventHandler):  # type: ignore[misc]
    def __init__(self, live: LiveClient) -> None:
        self.live = live

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        self.live.disconnects.append((ctx.code, ctx.reason))

    async def on_error(self, ctx: ErrorContext) -> None:
        self.live.errors.append(ctx)


class LiveClient:
    """One centrifuge-python client connected to a real Centrifugo over WebSocket."""

    def __init__(self, ws_url: str, token: str, **options: Any) -> None:
        """``options`` go to centrifuge-python's ``Client`` (e.g. ``max_reconnect_delay``)."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.disconnects: list[tuple[int, str]] = []
        self.errors: list[ErrorContext] = []
        self.client: Client = self._run(self._make(ws_url, token, options))

    async def _make(self, ws_url: str, token: str, options: dict[str, Any]) -> Client:
        # proxy=None: loopback only, whatever the environment says about proxies.
        return Client(ws_url, events=_ClientEvents(self), token=token, proxy=None, **options)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(DEADLINE)

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
        subscription = self._run(self._subscribe(channel, token, received))
        return subscription, received

    async def _subscribe(self, channel: str, token: str, received: Received) -> Subscription:
        subscription = self.client.new_subscription(
            channel,
            events=_SubscriptionEvents(received),
            token=token,
        )
        await subscription.subscribe()
        await subscription.ready(timeout=DEADLINE)
        return subscription

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

    def close(self) -> None:
        """Disconnect, let the client's tasks and sockets finish, and stop the loop's thread."""
        try:
            self._run(self._close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=DEADLINE)
            self.loop.close()

    async def _close(self) -> None:
        await self.client.disconnect()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        # The WebSocket close handshake runs in a task of its own: let it finish first.
        _, pending = await asyncio.wait(others, timeout=DEADLINE / 2) if others else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
