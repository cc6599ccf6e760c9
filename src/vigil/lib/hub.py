"""In-process publish/subscribe between the parts of one `vigil serve` process.

Writers publish from any thread (usually a request thread, after the transaction commits);
subscribers are asyncio tasks (the SSE streams) on the server's loop. Each subscriber has a
small bounded queue; a slow screen never holds up the publisher. When its queue is full the
oldest event is dropped and the subscriber is told to resynchronise, which for the floor board
means re-rendering the whole board, so no change is lost from the screen.
"""

import asyncio
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

RESYNC = {"type": "resync"}


@dataclass(eq=False)
class Subscription:
    topics: tuple[Hashable, ...]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=64))

    def _deliver(self, event: Any) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            event = RESYNC
        self.queue.put_nowait(event)

    async def get(self) -> Any:
        return await self.queue.get()


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[Hashable, set[Subscription]] = {}

    def subscribe(self, *topics: Hashable) -> Subscription:
        """Subscribe the running event loop to one or more topics, through one queue."""
        subscription = Subscription(topics=topics, loop=asyncio.get_running_loop())
        with self._lock:
            for topic in topics:
                self._subscribers.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            for topic in subscription.topics:
                subscribers = self._subscribers.get(topic)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._subscribers[topic]

    def publish(self, topic: Hashable, event: Any) -> int:
        """Deliver `event` to every subscriber of `topic`; safe from any thread."""
        with self._lock:
            subscribers = list(self._subscribers.get(topic, ()))
        for subscription in subscribers:
            if subscription.loop.is_closed():
                self.unsubscribe(subscription)
                continue
            subscription.loop.call_soon_threadsafe(subscription._deliver, event)
        return len(subscribers)

    def subscriber_count(self, topic: Hashable) -> int:
        with self._lock:
            return len(self._subscribers.get(topic, ()))


hub = Hub()
