"""Fan-out of verdict events to WatchEvents streams (all on the event loop thread).

Each watcher has a bounded queue; a watcher too slow to keep up loses its
stream (it is told, and can reconnect with include_open) rather than making
the collector buffer without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from vantage.collector.storage.records import StoredEvent

# A round produces a handful of events; 1000 pending means the client is gone.
WATCHER_QUEUE_LIMIT = 1000


@dataclass(eq=False)
class Watcher:
    asn: int = 0
    country: str = ""
    queue: asyncio.Queue[StoredEvent | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=WATCHER_QUEUE_LIMIT)
    )
    overflowed: bool = False

    def wants(self, event: StoredEvent) -> bool:
        if self.asn and event.asn != self.asn:
            return False
        return not (self.country and event.country != self.country)


class EventHub:
    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()
        self._closed = False

    def subscribe(self, *, asn: int = 0, country: str = "") -> Watcher:
        watcher = Watcher(asn=asn, country=country)
        if self._closed:
            watcher.queue.put_nowait(None)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def publish(self, events: Iterable[StoredEvent]) -> None:
        for event in events:
            for watcher in list(self._watchers):
                if not watcher.wants(event):
                    continue
                try:
                    watcher.queue.put_nowait(event)
                except asyncio.QueueFull:
                    watcher.overflowed = True
                    self._watchers.discard(watcher)

    def close(self) -> None:
        """End every stream (shutdown)."""
        self._closed = True
        for watcher in list(self._watchers):
            try:
                watcher.queue.put_nowait(None)
            except asyncio.QueueFull:
                watcher.overflowed = True

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
