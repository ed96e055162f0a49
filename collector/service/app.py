"""What every servicer shares: storage, clock, locator, worker threads, auth, events.

Storage calls are blocking (SQLite, or a PostgreSQL pool), so servicers run
them on a small thread pool through `blocking()`, keeping the asyncio event
loop free to serve other streams meanwhile.

Authentication is a helper per call rather than an interceptor: each service
needs a different principal (the probe record, an operator role), and the
helper hands it straight to the handler.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import grpc

from vantage.collector.bgp.model import AsRouting, RoutingSnapshot
from vantage.collector.service.address_guard import AddressGuard
from vantage.collector.service.auth import bearer_token, hash_secret
from vantage.collector.service.auth_limit import FailureLimiter
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.discovery import DiscoveryBounds, DiscoveryRuntime
from vantage.collector.service.event_fanout import EventHub
from vantage.collector.service.ingest_pool import IngestPool
from vantage.collector.service.issued_tasks import IssuedTasks
from vantage.collector.service.locator import Locator
from vantage.collector.storage.base import Storage, StorageError
from vantage.collector.storage.records import CredentialRole, ProbeContact, ProbeRecord

log = logging.getLogger("vantage.collector")
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

# How long a credential→probe answer is trusted before the database is asked
# again: a revocation by another collector on the same database takes effect
# within this time (revocations through this collector take effect at once).
AUTH_CACHE_S = 5.0
# At most this many credential answers are remembered (least recently used dropped first):
# the keys are what clients send, so guesses must not grow memory (issue 19). A fleet larger
# than this only costs a database lookup per call beyond it.
AUTH_CACHE_ENTRIES = 16384
# Routing snapshots kept for revisions: three hours of 5-minute rounds. A full table's snapshot
# is a mapping of some 75,000 ASes (several MB), so a week's would not fit; revisions of older
# rounds are judged on the probes alone (their mechanism is then `unknown`).
ROUTING_ROUNDS_REMEMBERED = 36
# Storage work runs on this many threads; SQLite serialises writes anyway, the
# extra threads let validation of one batch overlap another's commit and let
# queries run beside ingest.
DEFAULT_WORKER_THREADS = 4


class BoundedCache(Generic[K, V]):
    """A dict of at most `capacity` entries that drops the least recently used first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        return list(self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class PeerAddress:
    address: str
    port: int


def parse_peer(peer: str) -> PeerAddress:
    """gRPC's peer string ("ipv4:192.0.2.1:5555", "ipv6:[2001:db8::1]:5555") → address, port."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        host, _, port = rest[1:].partition("]:")
        return PeerAddress(host.split("%")[0], int(port or 0))
    if kind == "ipv4":
        host, _, port = rest.rpartition(":")
        return PeerAddress(host, int(port or 0))
    return PeerAddress("", 0)  # unix sockets and the like carry no IP


class CollectorApp:
    def __init__(
        self,
        storage: Storage,
        config: CollectorConfig,
        locator: Locator,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Any = None,
        worker_threads: int = DEFAULT_WORKER_THREADS,
        ingest_pool: IngestPool | None = None,
        guard: AddressGuard | None = None,
        routing: RoutingSnapshot | None = None,
    ) -> None:
        self.storage = storage
        self.config = config
        self.locator = locator
        self.clock = clock
        self.metrics = metrics
        self.events = EventHub()
        self.executor = ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="storage")
        self.ingest_pool = ingest_pool if ingest_pool is not None else IngestPool(0)
        # What no task may be sent to (address_guard.py); the default refuses special-purpose space.
        self.guard = guard if guard is not None else AddressGuard()
        self.discovery = DiscoveryRuntime(
            storage,
            locator,
            config.round_seconds,
            DiscoveryBounds(config.discovery_block_budget_per_hour, config.discovery_rate_pps),
        )
        self._probe_cache: BoundedCache[str, tuple[float, ProbeRecord]] = BoundedCache(AUTH_CACHE_ENTRIES)
        self._operator_cache: BoundedCache[str, tuple[float, CredentialRole | None]] = BoundedCache(
            AUTH_CACHE_ENTRIES
        )
        # The tasks issued to each probe: ingest believes only results of these (issued_tasks.py).
        self.issued_tasks = IssuedTasks(storage, config.round_seconds, config.plan_repeat_s)
        # Failed authentications per source address (auth_limit.py).
        self.auth_failures = FailureLimiter(config.auth_limits)
        # Suspect probes from the latest computed round (for ListProbes).
        self.suspect_probes: frozenset[str] = frozenset()
        # Probes that said they can open raw sockets (ProbeCapabilities.raw_sockets, at Enroll and
        # every GetWork): traceroutes are planned for these only. Held here, not stored: every
        # probe says it again at its next GetWork, before any plan for it is made. Replaced, never
        # changed in place: the planner reads it on a worker thread.
        self.raw_socket_probes: frozenset[str] = frozenset()
        # The routing signal (collector/bgp/): per-AS visibility at an instant, or None without a
        # --bgp-source; the round loop asks it once per round.
        self.routing = routing
        # The snapshot each recent round was judged with, for its revisions (revisions.py): the
        # routing table holds only the present. Bounded: a revision of an older round is judged
        # without a routing signal (its mechanism then comes from the probes alone).
        self.routing_by_round: BoundedCache[int, Mapping[int, AsRouting]] = BoundedCache(
            ROUTING_ROUNDS_REMEMBERED
        )

    async def blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(function, *args, **kwargs))

    def round_number(self, now_unix_s: float) -> int:
        """Rounds are numbered by wall-clock time (round n starts at n × length), so that
        every collector on one database agrees on them without talking to each other."""
        return int(now_unix_s // self.config.round_seconds)

    def round_start(self, number: int) -> float:
        return number * self.config.round_seconds

    # ------------------------------------------------------------ auth
    async def refuse_if_blocked(self, context: grpc.aio.ServicerContext[Any, Any], kind: str) -> None:
        """RESOURCE_EXHAUSTED when the caller's address failed authentication too often
        (auth_limit.py); the caller checks first that the credential is not one known good."""
        address = parse_peer(context.peer()).address
        wait_s = self.auth_failures.blocked_for_s(address, time.monotonic())
        if wait_s > 0:
            if self.metrics is not None:
                self.metrics.observe_auth(kind=kind, throttled=True)
            await abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"too many failed authentications from {address}: retry in {wait_s:.0f} s",
            )

    async def auth_failed(
        self, context: grpc.aio.ServicerContext[Any, Any], kind: str, message: str
    ) -> NoReturn:
        """Count a failed authentication against the caller's address, then UNAUTHENTICATED."""
        address = parse_peer(context.peer()).address
        limits = self.auth_failures.limits
        if self.auth_failures.failed(address, time.monotonic()):
            log.warning(
                "%d failed authentications from %s within %.0f s: refusing its unknown credentials"
                " for %.0f s",
                limits.max_failures,
                address,
                limits.window_s,
                limits.block_s,
            )
        if self.metrics is not None:
            self.metrics.observe_auth(kind=kind, throttled=False)
        await abort(context, grpc.StatusCode.UNAUTHENTICATED, message)

    async def authenticate_probe(
        self, context: grpc.aio.ServicerContext[Any, Any], *, fresh: bool = False
    ) -> ProbeRecord:
        credential = bearer_token(context.invocation_metadata())
        if credential is None:
            await self.refuse_if_blocked(context, "probe")
            await self.auth_failed(context, "probe", "missing `authorization: Bearer <credential>`")
        digest = hash_secret(credential)
        now = time.monotonic()
        cached = self._probe_cache.get(digest)
        if cached is None:  # a credential never seen good here: subject to the failure limit
            await self.refuse_if_blocked(context, "probe")
        if cached is not None and not fresh and now - cached[0] < AUTH_CACHE_S:
            probe = cached[1]
        else:
            found = await storage_call(self, context, self.storage.probe_by_credential, digest)
            if found is None:
                self._probe_cache.pop(digest)
                await self.auth_failed(context, "probe", "unknown probe credential")
            probe = found
            self._probe_cache.put(digest, (now, probe))
        if probe.revoked:
            await abort(context, grpc.StatusCode.UNAUTHENTICATED, f"probe {probe.probe_id} is revoked")
        return probe

    def forget_probe(self, probe_id: str) -> None:
        """Drop cached auth answers for a probe (after a revocation or a pin here)."""
        for digest, (_, probe) in self._probe_cache.items():
            if probe.probe_id == probe_id:
                self._probe_cache.pop(digest)

    async def require_operator(
        self, context: grpc.aio.ServicerContext[Any, Any], roles: Collection[CredentialRole]
    ) -> CredentialRole:
        credential = bearer_token(context.invocation_metadata())
        if credential is None:
            await self.refuse_if_blocked(context, "operator")
            await self.auth_failed(context, "operator", "missing `authorization: Bearer <credential>`")
        digest = hash_secret(credential)
        now = time.monotonic()
        cached = self._operator_cache.get(digest)
        if cached is None or cached[1] is None:  # never seen good here: subject to the failure limit
            await self.refuse_if_blocked(context, "operator")
        if cached is not None and now - cached[0] < AUTH_CACHE_S:
            role = cached[1]
        else:
            role = await storage_call(self, context, self.storage.credential_role, digest)
            self._operator_cache.put(digest, (now, role))
        if role is None:
            await self.auth_failed(context, "operator", "unknown credential")
        if role not in roles:
            await abort(
                context, grpc.StatusCode.PERMISSION_DENIED, f"a {role.value} credential cannot do this"
            )
        return role

    async def require_reader(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        if self.config.require_reader:
            await self.require_operator(context, (CredentialRole.READER, CredentialRole.ADMIN))

    # ------------------------------------------------------------ probe location
    def contact_of(
        self,
        probe: ProbeRecord,
        peer: str,
        *,
        software_version: str = "",
        icmp: bool | None = None,
        ipv6: bool | None = None,
    ) -> ProbeContact:
        """Where the probe is, from the address it connects from (as RIPE Atlas does)."""
        address = parse_peer(peer).address
        asn, country = self.locator.locate(address)
        return ProbeContact(
            probe_id=probe.probe_id,
            at_unix_s=self.clock(),
            address=address,
            observed_asn=asn,
            observed_country=country,
            software_version=software_version,
            capability_icmp=icmp,
            capability_ipv6=ipv6,
        )

    def close(self) -> None:
        self.ingest_pool.close()
        self.executor.shutdown(wait=True)


async def abort(context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable: context.abort raises")


async def storage_call(
    app: CollectorApp, context: grpc.aio.ServicerContext[Any, Any], function: Callable[..., T], *args: Any
) -> T:
    """Run a storage call; a backend failure becomes UNAVAILABLE (the client may retry)."""
    try:
        return await app.blocking(function, *args)
    except StorageError as exc:
        log.error("storage failure: %s", exc)
        await abort(context, grpc.StatusCode.UNAVAILABLE, f"storage unavailable: {exc}")
