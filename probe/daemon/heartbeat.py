"""Heartbeats: tell the collector this probe is alive, and how much it holds.

A probe fleet that vanishes from one AS is itself an outage signal, so the
beat goes out on its own schedule, independent of rounds and uploads. The
collector may ask for another interval (next_heartbeat); it is honoured within
bounds so that a collector cannot make the probe chatty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from vantage.probe.daemon import wire
from vantage.probe.daemon.link import Link, LinkDown
from vantage.probe.daemon.outbox import AsyncOutbox
from vantage.v1 import probe_service_pb2

log = logging.getLogger(__name__)

# A collector may slow heartbeats down to 10x ours, or speed them up to 5 s at most.
MIN_HEARTBEAT_S = 5.0
MAX_HEARTBEAT_FACTOR = 10.0


def bounded_interval_s(configured_s: float, suggested_s: float | None) -> float:
    if suggested_s is None or suggested_s <= 0:
        return configured_s
    return min(max(suggested_s, min(MIN_HEARTBEAT_S, configured_s)), configured_s * MAX_HEARTBEAT_FACTOR)


async def run_heartbeats(
    link: Link, outbox: AsyncOutbox, *, interval_s: float, version: str, stop: asyncio.Event
) -> None:
    wait_s = 0.0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.01, wait_s))
            return
        except TimeoutError:
            pass
        depth, oldest, _dropped = await outbox.stats()
        request = wire.heartbeat_request(
            now=datetime.now(UTC), outbox_depth=depth, oldest_unsent_unix_s=oldest, software_version=version
        )
        try:
            response = await link.unary("Heartbeat", _send(request))
        except LinkDown as down:
            log.debug("heartbeat not sent: %s", down)
            wait_s = interval_s
            continue
        wait_s = bounded_interval_s(interval_s, wire.next_heartbeat_s(response))


def _send(request: probe_service_pb2.HeartbeatRequest) -> Callable[[Any, Any], Awaitable[Any]]:
    def call(stub: Any, metadata: Any) -> Awaitable[Any]:
        result: Awaitable[Any] = stub.Heartbeat(request, metadata=metadata, timeout=10.0)
        return result

    return call
