"""The route feeds' edges: an ExaBGP socket, a RIS Live websocket, MRT files -> one RoutingFeed.

Each source runs as an asyncio task on the collector's loop (MRT files are read on a thread);
every change to the table happens under one lock, so the round loop may ask `snapshot(at)` from
any thread (a whole-table pass takes seconds: run it off the loop). The loop never waits for that
lock: a change it cannot apply at once is queued and applied by whoever holds the lock next.
Nothing here decides anything: parsing and visibility are feed.py's and table.py's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vantage.collector.bgp import exabgp_json, ris_live
from vantage.collector.bgp.feed import RoutingFeed
from vantage.collector.bgp.messages import FeedMessage
from vantage.collector.bgp.model import AsRouting, FeedStatus
from vantage.collector.bgp.parse_error import ParseError
from vantage.collector.bgp.sources import BgpSource, ExabgpSource, MrtSource, RisLiveSource
from vantage.collector.bgp.table import PeerView, VisibilityRules

__all__ = ["BgpFeeds", "FeedFigures"]

log = logging.getLogger("vantage.collector.bgp")

# One ExaBGP JSON line holds one UPDATE (at most 4096 bytes of BGP, RFC 4271; 65535 with
# RFC 8654): its JSON is far below this bound, which only stops a runaway writer.
MAX_LINE_BYTES = 4 * 1024 * 1024
# Reconnecting to RIS Live: 1 s, doubling, at most a minute (a server that drops us should not
# be hammered; a minute of lost updates is one round's margin).
RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 60.0
# MRT replay takes the lock once per this many records (a RIB dump holds a million).
MRT_BATCH = 2000


@dataclass(frozen=True, slots=True)
class FeedFigures:
    """What the metrics show, copied under the lock."""

    statuses: tuple[FeedStatus, ...]
    parsed: Mapping[str, int]
    rejected: Mapping[tuple[str, str], int]
    visibility: Mapping[int, AsRouting]
    peers: tuple[PeerView, ...]


def _reject_too_long(feed: RoutingFeed) -> None:
    error = ParseError("message", "too_long", f"longer than {MAX_LINE_BYTES} bytes")
    feed.rejected(exabgp_json.FORMAT, error)


class BgpFeeds:
    def __init__(
        self,
        sources: Sequence[BgpSource],
        *,
        rules: VisibilityRules | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = tuple(sources)
        self.clock = clock
        self._feed = RoutingFeed(rules)
        self._lock = threading.Lock()
        self._pending: collections.deque[Callable[[RoutingFeed], None]] = collections.deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: dict[str, int] = {}
        self._stopping = False
        for source in self.sources:
            self._set_status(source.name, connected=False, table_loaded=False, detail="not started")

    # -- what the collector reads ------------------------------------------------------------

    @property
    def labels(self) -> dict[str, str]:
        """A bounded metric label per source: its kind, numbered when repeated ("mrt", "mrt-2")."""
        labels: dict[str, str] = {}
        seen: dict[str, int] = {}
        for source in self.sources:
            kind = source.name.partition(":")[0]
            seen[kind] = seen.get(kind, 0) + 1
            labels[source.name] = kind if seen[kind] == 1 else f"{kind}-{seen[kind]}"
        return labels

    def snapshot(self, at_unix_s: float) -> Mapping[int, AsRouting]:
        with self._lock:
            result = self._feed.snapshot(at_unix_s)
        self._drain()  # what the loop handed over meanwhile
        return result

    def figures(self) -> FeedFigures:
        with self._lock:
            feed = self._feed
            return FeedFigures(
                statuses=tuple(feed.statuses),
                parsed=feed.tally.parsed_counts,
                rejected=feed.tally.rejected_counts,
                visibility=feed.table.last_visibility,
                peers=tuple(feed.table.peers()),
            )

    # -- running -----------------------------------------------------------------------------

    async def start(self) -> None:
        for source in self.sources:
            if isinstance(source, ExabgpSource):
                await self._listen_exabgp(source)
            elif isinstance(source, RisLiveSource):
                self._spawn(self._ris_live(source), source.name)
            elif isinstance(source, MrtSource):
                self._spawn(self._mrt(source), source.name)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(self._report_failure)
        self._tasks.append(task)

    def _report_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("%s failed: %r", task.get_name(), error, exc_info=error)
            self._set_status(
                task.get_name(), connected=False, table_loaded=False, detail=f"failed: {error!r}"
            )

    async def stop(self) -> None:
        self._stopping = True
        for server in self._servers:
            server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for source in self.sources:
            if isinstance(source, ExabgpSource):
                with contextlib.suppress(FileNotFoundError):
                    source.socket_path.unlink()

    def _set_status(self, source: str, *, connected: bool, table_loaded: bool, detail: str = "") -> None:
        status = FeedStatus(source, connected, table_loaded, self.clock(), detail)
        self._hand_over(lambda feed: feed.set_status(status))

    def _line(self, source: str, fmt: str, line: bytes) -> None:
        def apply(feed: RoutingFeed) -> None:
            error = feed.line(source, fmt, line)
            if error is not None:
                log.warning("%s: message rejected: %s", source, error)

        self._hand_over(apply)

    def _hand_over(self, change: Callable[[RoutingFeed], None]) -> None:
        """Apply a change now if the table is free, else leave it to whoever holds it: the
        event loop never waits for a visibility computation (seconds at a full table)."""
        self._pending.append(change)
        self._drain()

    def _drain(self) -> None:
        while self._pending and self._lock.acquire(blocking=False):
            try:
                while self._pending:
                    self._pending.popleft()(self._feed)
            finally:
                self._lock.release()

    # -- ExaBGP: we listen, the relay (relay.py) connects ------------------------------------

    async def _listen_exabgp(self, source: ExabgpSource) -> None:
        path = source.socket_path
        if path.is_socket():
            path.unlink()  # a previous run's: nobody listens on it
        path.parent.mkdir(parents=True, exist_ok=True)

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._exabgp_connection(source, reader, writer)

        server = await asyncio.start_unix_server(connection, path=str(path), limit=MAX_LINE_BYTES)
        path.chmod(0o660)
        self._servers.append(server)
        self._connections[source.name] = 0
        self._set_status(source.name, connected=False, table_loaded=False, detail=f"listening on {path}")

    async def _exabgp_connection(
        self, source: ExabgpSource, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        name = source.name
        self._connections[name] += 1
        # The session's tables are loaded peer by peer, at each End-of-RIB (table.py).
        self._set_status(name, connected=True, table_loaded=False, detail="relay connected")
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than MAX_LINE_BYTES
                    self._hand_over(_reject_too_long)
                    break
                if not line:
                    break
                if line.strip():
                    self._line(name, exabgp_json.FORMAT, line)
        finally:
            writer.close()
            self._connections[name] -= 1
            if not self._connections[name]:
                self._set_status(name, connected=False, table_loaded=False, detail="relay disconnected")

    # -- RIS Live: a websocket client ---------------------------------------------------------

    async def _ris_live(self, source: RisLiveSource) -> None:
        import aiohttp

        name = source.name
        backoff = RECONNECT_FIRST_S
        while not self._stopping:
            detail = "closed by the server"
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.ws_connect(source.url, heartbeat=30.0, max_msg_size=MAX_LINE_BYTES) as ws,
                ):
                    await ws.send_str(json.dumps(ris_live.SUBSCRIBE_UPDATES))
                    # RIS Live replays no table: what it says is current from the first message.
                    self._set_status(name, connected=True, table_loaded=True, detail="subscribed")
                    backoff = RECONNECT_FIRST_S
                    async for frame in ws:
                        if frame.type == aiohttp.WSMsgType.TEXT:
                            self._line(name, ris_live.FORMAT, frame.data.encode())
                        elif frame.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            detail = f"websocket {frame.type.name.lower()}"
                            break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                detail = f"cannot connect: {exc}"
            self._set_status(name, connected=False, table_loaded=False, detail=detail)
            log.warning("%s: %s; reconnecting in %g s", name, detail, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_S)

    # -- MRT: files replayed in order ----------------------------------------------------------

    async def _mrt(self, source: MrtSource) -> None:
        self._set_status(source.name, connected=True, table_loaded=False, detail="replaying")
        try:
            rejected = await asyncio.to_thread(self._replay, source.name, source.paths)
        except OSError as exc:
            self._set_status(source.name, connected=False, table_loaded=False, detail=str(exc))
            log.error("%s: %s", source.name, exc)
            return
        self._set_status(
            source.name, connected=True, table_loaded=True, detail=f"replayed, {rejected} records rejected"
        )

    def _replay(self, name: str, paths: Sequence[Path]) -> int:
        from vantage.collector.bgp.mrt_files import read_mrt

        rejected = 0
        for path in paths:
            batch: list[FeedMessage | ParseError] = []
            for item in read_mrt(path):
                batch.append(item)
                if len(batch) >= MRT_BATCH:
                    rejected += self._apply_mrt(name, batch)
                    batch = []
                if self._stopping:
                    return rejected
            rejected += self._apply_mrt(name, batch)
        return rejected

    def _apply_mrt(self, name: str, batch: Sequence[FeedMessage | ParseError]) -> int:
        from vantage.collector.bgp.mrt import FORMAT

        rejected = 0
        self._drain()
        with self._lock:
            for item in batch:
                if isinstance(item, ParseError):
                    self._feed.rejected(FORMAT, item)
                    rejected += 1
                elif isinstance(item, FeedMessage):
                    self._feed.message(name, FORMAT, item)
        return rejected
