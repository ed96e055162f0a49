"""The probe's link to its collectors: channels, credentials, failover (gRPC edge).

Every RPC goes through `Link`: it picks a collector from the pool (spread by
rendezvous hashing, failover with backoff; see pool.py), attaches the
credential, and classifies errors once:

* unreachable (UNAVAILABLE, DEADLINE_EXCEEDED, ...): that collector is put aside
  with exponential backoff and jitter; the next call fails over to another;
* UNAUTHENTICATED: the credential was revoked (or the collector forgot it).
  Retrying cannot fix that, so every collector is put aside for the long
  revoked-credential delay and one clear log line says what happened and what
  to do. The probe keeps its outbox and keeps running, it just stops asking.

Reconnecting is the probe's decision, not gRPC's: a channel's own reconnect
backoff (up to 120 s by default) stacked on the probe's made probes take two to
three minutes to come back after an outage. The channel options bound gRPC's
backoff by the probe's policy (channel_backoff_options); when the probe's
policy says "try now" and the channel is still in TRANSIENT_FAILURE, a fresh
channel replaces it; and a change of the host's routes (the link came back,
another network) clears every backoff and redials at once (network_changed,
watch_network).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import grpc.aio

from vantage.probe.daemon.backoff import BackoffPolicy, RandomSource
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.pool import PoolState
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc

log = logging.getLogger(__name__)
T = TypeVar("T")

# Codes that say "this collector is not answering now"; anything else is the
# collector's considered answer to a bad request and is not retried elsewhere.
UNREACHABLE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.ABORTED,
    }
)


# How long a replaced channel's calls may go on before the channel is closed under them.
DISCARD_GRACE_S = 5.0
# How often the routing tables are compared for a network change (two small /proc reads).
NETWORK_POLL_S = 2.0
# /proc/self/net, not /proc/net: the systemd unit's ProcSubset=pid hides /proc/net (a
# symlink to self/net) but keeps the process's own directory.
ROUTE_TABLES = (Path("/proc/self/net/route"), Path("/proc/self/net/ipv6_route"))


def channel_backoff_options(policy: BackoffPolicy) -> list[tuple[str, int]]:
    """gRPC channel options that keep the channel's reconnect backoff within `policy`.

    gRPC core's defaults (1 s initial, 120 s maximum, 20 s minimum connect
    timeout) would otherwise keep a channel in TRANSIENT_FAILURE for up to two
    minutes after the collector is back, whatever the probe's own schedule says.
    """
    return [
        ("grpc.initial_reconnect_backoff_ms", round(policy.initial_delay_s * 1000)),
        ("grpc.min_reconnect_backoff_ms", round(policy.min_delay_s * 1000)),
        ("grpc.max_reconnect_backoff_ms", round(policy.max_delay_s * 1000)),
    ]


def routes_fingerprint(tables: tuple[str, ...]) -> str:
    """What identifies the host's network: the routing tables' lines, order aside.

    /proc/net/route's header and the per-route counters in ipv6_route (refcount, use)
    change without the network changing, so only destination, gateway, flags and
    interface are kept.
    """
    lines = []
    for table in tables:
        for line in table.splitlines():
            fields = line.split()
            if not fields or fields[0] == "Iface":
                continue
            if len(fields) == 10:  # ipv6_route: dest plen src plen next-hop metric ref use flags iface
                lines.append(" ".join((*fields[0:5], fields[8], fields[9])))
            else:  # route: iface dest gateway flags refcnt use metric mask ...
                lines.append(" ".join((fields[0], fields[1], fields[2], fields[3], *fields[7:8])))
    return "\n".join(sorted(lines))


def read_route_tables() -> tuple[str, ...]:
    texts = []
    for table in ROUTE_TABLES:
        try:
            texts.append(table.read_text())
        except OSError:
            texts.append("")  # no IPv6, or no /proc: compares equal to itself
    return tuple(texts)


class LinkDown(Exception):
    """No collector can be used now; `wait_s` says when one may be."""

    def __init__(self, message: str, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class Link:
    def __init__(
        self,
        addresses: tuple[str, ...],
        *,
        pool_key: str,
        plaintext: bool,
        ca_file: Path | None,
        backoff: BackoffPolicy,
        revoked_backoff_s: float,
        rng: RandomSource,
        metrics: ProbeMetrics,
        plan_decoder: Callable[[bytes], Any] | None = None,
    ) -> None:
        self._pool = PoolState.create(addresses, pool_key)
        # GetWork's response deserializer (wire.plan_decoder: cuts an oversized plan unread).
        self._plan_decoder = plan_decoder
        self._pool_key = pool_key
        self._plaintext = plaintext
        self._ca_file = ca_file
        self._backoff = backoff
        self._revoked_backoff_s = revoked_backoff_s
        self._rng = rng
        self._metrics = metrics
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self._retry_now = asyncio.Event()
        self.secret = ""
        self.revoked = False

    def rekey(self, pool_key: str) -> None:
        """Re-rank the collectors for this probe id (known only after enrollment)."""
        self._pool_key = pool_key
        self._pool = PoolState.create([e.address for e in self._pool.endpoints], pool_key)

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is not None and channel.get_state() is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            # The probe's policy says "try now"; the channel would wait out its own backoff
            # and fail the call at once. A fresh channel dials now.
            self._discard(channel)
            channel = None
        if channel is None:
            # round_robin: a DNS name with several records spreads over all of them and
            # skips the dead ones (with one address it behaves as pick_first).
            options = [
                ("grpc.max_receive_message_length", 64 << 20),
                ("grpc.keepalive_time_ms", 60_000),
                ("grpc.lb_policy_name", "round_robin"),
                *channel_backoff_options(self._backoff),
            ]
            if self._plaintext:
                channel = grpc.aio.insecure_channel(address, options=options)
            else:
                root = self._ca_file.read_bytes() if self._ca_file is not None else None
                channel = grpc.aio.secure_channel(
                    address, grpc.ssl_channel_credentials(root), options=options
                )
            self._channels[address] = channel
        return channel

    def _discard(self, channel: grpc.aio.Channel) -> None:
        # With a grace: another loop's call may still be on this channel (the uploader's
        # stream, started a moment before the heartbeat found the channel in
        # TRANSIENT_FAILURE); it fails on its own with UNAVAILABLE instead of being cancelled
        # under a pending write.
        closing = asyncio.ensure_future(channel.close(grace=DISCARD_GRACE_S))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.secret}"),) if self.secret else ()

    def acquire(self) -> tuple[str, probe_service_pb2_grpc.ProbeServiceStub]:
        """A collector to use now, or LinkDown with how long to wait."""
        pick = self._pool.pick(time.monotonic())
        if pick.address is None:
            raise LinkDown("no collector is reachable now", pick.wait_s)
        channel = self._channel(pick.address)
        stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        if self._plan_decoder is not None:
            stub.GetWork = channel.unary_unary(
                "/vantage.v1.ProbeService/GetWork",
                request_serializer=probe_service_pb2.GetWorkRequest.SerializeToString,
                response_deserializer=self._plan_decoder,
            )
        return pick.address, stub

    async def acquire_waiting(
        self, stop: asyncio.Event
    ) -> tuple[str, probe_service_pb2_grpc.ProbeServiceStub] | None:
        """Like acquire, but waits (None when `stop` is set first)."""
        while not stop.is_set():
            try:
                return self.acquire()
            except LinkDown as down:
                await _wait(stop, down.wait_s, self._retry_now)
        return None

    async def network_changed(self) -> None:
        """The host's network changed: forget every backoff and redial now.

        The channels are closed, not kept: a channel in TRANSIENT_FAILURE waits out
        its own backoff, and gRPC's Python API cannot reset it. A revoked credential
        stays put aside: a new network does not make it valid again.
        """
        if not self.revoked:
            self._pool = PoolState.create([e.address for e in self._pool.endpoints], self._pool_key)
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close(grace=None)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        self._retry_now.set()
        self._retry_now = asyncio.Event()

    def succeeded(self, address: str) -> None:
        if self.revoked:
            log.warning("collector %s accepts the probe credential again", address)
            self.revoked = False
        was_put_aside = any(e.address == address and e.failures for e in self._pool.endpoints)
        self._pool = self._pool.succeeded(address)
        if was_put_aside:
            # Another loop's call got through: the collector is back. Those waiting out its
            # backoff (the uploader, up to one heartbeat interval) go now.
            self._wake_waiters()

    def failed(
        self, address: str, rpc: str, error: BaseException, code: grpc.StatusCode | None = None
    ) -> None:
        """Classify an RPC error and put the collector aside accordingly.

        `code` is the call's final status when `error` is not an AioRpcError (a
        write on a stream the server already ended raises InvalidStateError).
        """
        now = time.monotonic()
        if isinstance(error, grpc.aio.AioRpcError):
            code = error.code()
        code = code or grpc.StatusCode.UNAVAILABLE
        self._metrics.observe_rpc_error(rpc, code.name)
        if code is grpc.StatusCode.UNAUTHENTICATED:
            self.revoked = True
            for endpoint in self._pool.endpoints:
                self._pool = self._pool.failed_for(endpoint.address, now, self._revoked_backoff_s)
            details = _details(error)
            log.error(
                "CREDENTIAL REJECTED: collector %s answered UNAUTHENTICATED to %s (%s): this probe was "
                "revoked or is unknown to the collector. Not retrying for %.0f s. Results stay in the "
                "outbox; to re-admit the probe, delete the credential file in the state dir and restart "
                "with a new enrollment token. Not measuring meanwhile.",
                address,
                rpc,
                details,
                self._revoked_backoff_s,
            )
            return
        self._pool = self._pool.failed(address, now, self._backoff, self._rng)
        level = logging.WARNING if code in UNREACHABLE_CODES else logging.ERROR
        log.log(level, "collector %s: %s failed with %s: %s", address, rpc, code.name, _details(error))

    async def unary(
        self, rpc: str, call: Callable[[probe_service_pb2_grpc.ProbeServiceStub, Any], Awaitable[T]]
    ) -> T:
        """One unary RPC on the best collector now; LinkDown (no wait) when it fails."""
        address, stub = self.acquire()
        try:
            result = await call(stub, self.metadata())
        except grpc.aio.AioRpcError as error:
            self.failed(address, rpc, error)
            raise LinkDown(f"{rpc} on {address} failed: {error.code().name}", 0.0) from error
        self.succeeded(address)
        return result

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(grace=None)
        self._channels.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _details(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.details() or ""
    return str(error)


async def _wait(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep `seconds`, or less when `stop` (or `wake`) is set first."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=max(0.01, seconds), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def watch_network(
    link: Link,
    stop: asyncio.Event,
    *,
    poll_s: float = NETWORK_POLL_S,
    read_tables: Callable[[], tuple[str, ...]] = read_route_tables,
) -> None:
    """Tell `link` when the host's routes change, until `stop` is set."""
    last = routes_fingerprint(read_tables())
    while not stop.is_set():
        await _wait(stop, poll_s)
        current = routes_fingerprint(read_tables())
        if current != last:
            log.info("the host's routes changed: reconnecting to the collectors now")
            last = current
            await link.network_changed()
