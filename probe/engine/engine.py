"""The Engine: runs a batch of measurement requests and yields one result per request.

ICMP requests of each address family share one socket and one sweep (engine/icmp/driver.py); DNS,
HTTP and TCP requests run as tasks, at most `max_concurrency` at a time. One Pacer enforces
the global rate cap over everything: ICMP packets, and for the other kinds a token to start each
measurement (its first packet) and one for every further packet or connection attempt, SYN
retransmissions included (engine/paced.py). A big, fast
ICMP sweep that is the run's only work sends from a forked process (engine/icmp/fork.py); the child
takes the Pacer with it, which is why it must be the only user of the rate cap.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vantage.probe.engine.icmp.sockets import IcmpSocket, open_icmp_socket
from vantage.probe.engine.model import (
    AddressGuard,
    IcmpOptions,
    MeasurementRequest,
    MeasurementResult,
    ProbeLoad,
)
from vantage.probe.engine.pacing import Pacer
from vantage.probe.engine.sweep_requests import IcmpSweep
from vantage.protocols import kind_of

if TYPE_CHECKING:  # asyncio and the drivers are imported when a run starts (see Engine.prepare)
    import asyncio

    from vantage.probe.engine.context import DriverContext
    from vantage.probe.engine.icmp.fork import ForkedSweep

# A polite default (the issue: "e.g. 100 packets/s, raised explicitly"); 256 concurrent
# DNS/HTTP/TCP measurements keep well under the default 1024 open files.
DEFAULT_MAX_RATE_PER_S = 100.0
DEFAULT_MAX_CONCURRENCY = 256
# When "auto" forks an ICMP sender (docs/probe-engine.md "ICMP"). One process spends ≈ 15-20 µs
# of CPU per target on the netns bench (≈ 11 µs of it in sendto), so below 10k packets/s it
# keeps up on one core; below 4,096 packets the sweep is over in well under a second at any
# rate, and the fork (a few ms) and second process are not worth it. The daemon's polite rates
# never fork.
DEFAULT_FORK_MIN_RATE_PER_S = 10_000.0
DEFAULT_FORK_MIN_PACKETS = 4096
ICMP_SENDERS = ("auto", "inline", "forked")


@dataclass(frozen=True, slots=True)
class EngineLimits:
    max_rate_per_s: float = DEFAULT_MAX_RATE_PER_S
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    # Called with every address the engine meets that the caller could not check beforehand
    # (an HTTP redirect's host, a name the engine resolves itself): None when allowed, else
    # why not. The daemon passes its safety policy here, so that a public site cannot
    # redirect the probe into a volunteer's private network.
    address_guard: AddressGuard | None = None
    # "inline": this process sends and receives; "forked": a child process sends (see
    # engine/icmp/fork.py); "auto": forked for big, fast sweeps. Forked only when one ICMP sweep is
    # the run's only work (the child takes the rate cap with it).
    icmp_sender: str = "auto"

    def __post_init__(self) -> None:
        if self.icmp_sender not in ICMP_SENDERS:
            choices = ", ".join(ICMP_SENDERS)
            raise ValueError(f"icmp_sender must be one of {choices}, not {self.icmp_sender!r}")
        if self.max_rate_per_s <= 0:
            raise ValueError(f"max_rate_per_s must be positive, not {self.max_rate_per_s}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {self.max_concurrency}")


@dataclass
class PreparedRun:
    """A run whose sockets are open (and whose forked ICMP sender may already be sending)."""

    requests: Sequence[MeasurementRequest]
    icmp_by_family: dict[int, Sequence[MeasurementRequest]]
    others: list[MeasurementRequest]
    pacer: Pacer
    sockets: list[IcmpSocket] = field(default_factory=list)
    forked: ForkedSweep | None = None

    def close(self) -> None:
        """Stop the sender if it still runs and close the sockets (again: no effect)."""
        if self.forked is not None:
            self.forked.sender.stop()
        for icmp_socket in self.sockets:
            icmp_socket.close()


class Engine:
    def __init__(self, limits: EngineLimits | None = None, rng: random.Random | None = None) -> None:
        self.limits = limits or EngineLimits()
        # Identifiers and DNS query ids must be unpredictable to off-path spoofers.
        self._rng = rng or random.Random()

    async def run(self, requests: Sequence[MeasurementRequest]) -> AsyncIterator[MeasurementResult]:
        """Yield one result per request, in completion order.

        Raises IcmpUnavailable before measuring anything when ICMP requests are present and no
        ICMP socket can be opened.
        """
        async for batch in self.run_batches(requests):
            for result in batch:
                yield result

    def prepare(self, requests: Sequence[MeasurementRequest]) -> PreparedRun:
        """Open the ICMP sockets and, when the run is one big fast sweep, start its forked sender.

        Synchronous and free of asyncio: `vantage probe measure` calls it first, so that a
        sweep's packets leave while asyncio and the rest of the engine are still being imported
        (their replies wait in the socket). Raises IcmpUnavailable before measuring anything
        when ICMP requests are present and no ICMP socket can be opened. The caller hands the
        result to run_batches, or closes it.
        """
        icmp_by_family: dict[int, Sequence[MeasurementRequest]] = {4: [], 6: []}
        others: list[MeasurementRequest] = []
        if isinstance(requests, IcmpSweep):  # one family, one options object: nothing to sort
            icmp_by_family[requests.family] = requests
        else:
            sorted_icmp: dict[int, list[MeasurementRequest]] = {4: [], 6: []}
            for request in requests:
                if isinstance(request.options, IcmpOptions):
                    # Requests hold validated addresses: a colon means IPv6.
                    sorted_icmp[6 if ":" in request.address else 4].append(request)
                else:
                    others.append(request)
            icmp_by_family.update(sorted_icmp)
        prepared = PreparedRun(
            requests, icmp_by_family, others, Pacer(self.limits.max_rate_per_s, time.monotonic_ns())
        )
        try:
            for family, batch in icmp_by_family.items():
                if batch:
                    prepared.sockets.append(open_icmp_socket(family))
            sockets = prepared.sockets
            if len(sockets) == 1 and not others and self._fork_pays(icmp_by_family[sockets[0].family]):
                from vantage.probe.engine.icmp.fork import start_forked_sweep

                prepared.forked = start_forked_sweep(
                    sockets[0], icmp_by_family[sockets[0].family], prepared.pacer, self._rng
                )
        except BaseException:
            prepared.close()
            raise
        return prepared

    async def run_batches(
        self, requests: Sequence[MeasurementRequest], prepared: PreparedRun | None = None
    ) -> AsyncIterator[list[MeasurementResult]]:
        """As run(), but results come in the batches they complete in (a sweep's results by the
        hundred: one step of the caller's loop per batch, not per result). `prepared`: what
        prepare(requests) returned, if the caller called it."""
        import asyncio

        if prepared is None:
            prepared = self.prepare(requests)
        elif prepared.requests is not requests:
            prepared.close()
            raise ValueError("run_batches was given another run's preparation")
        # Drivers hand over results in batches (an ICMP sweep completes hundreds of targets per
        # socket read): one queue operation per batch, not per result. A worker that ends puts
        # None, so that one `await queue.get()` also learns of a failed worker.
        queue: asyncio.Queue[list[MeasurementResult] | None] = asyncio.Queue()
        pacer, forked = prepared.pacer, prepared.forked
        by_family, emit = prepared.icmp_by_family, queue.put_nowait
        workers = []
        if prepared.sockets:
            # Only a run with ICMP loads the sweep's driver (≈ 5 ms of start-up with its fork,
            # recvmmsg and ctypes modules, which a DNS or HTTP run of the CLI paid; issue 18).
            from vantage.probe.engine.icmp.driver import run_icmp_sweep

            workers = [
                asyncio.create_task(run_icmp_sweep(s, by_family[s.family], pacer, emit, self._rng, forked))
                for s in prepared.sockets
            ]
        if prepared.others:
            workers.append(asyncio.create_task(self._run_others(prepared.others, pacer, emit)))
        for worker in workers:
            worker.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            remaining = len(requests)
            while remaining:
                completed = await queue.get()
                if completed is None:
                    _raise_worker_failure(workers)
                    if all(worker.done() for worker in workers) and queue.empty():
                        raise RuntimeError(f"engine bug: {remaining} results never came")
                    continue
                remaining -= len(completed)
                yield completed
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            prepared.close()

    def _fork_pays(self, requests: Sequence[MeasurementRequest]) -> bool:
        mode = self.limits.icmp_sender
        if mode == "inline" or not hasattr(os, "fork"):
            return False
        if mode == "forked":
            return True
        if self.limits.max_rate_per_s < DEFAULT_FORK_MIN_RATE_PER_S:
            return False
        if isinstance(requests, IcmpSweep):
            return len(requests) * requests.options.count >= DEFAULT_FORK_MIN_PACKETS
        packets = 0
        for request in requests:  # stops as soon as the sweep is known to be big enough
            assert isinstance(request.options, IcmpOptions)
            packets += request.options.count
            if packets >= DEFAULT_FORK_MIN_PACKETS:
                return True
        return False

    async def _run_others(
        self,
        requests: Sequence[MeasurementRequest],
        pacer: Pacer,
        emit: Callable[[list[MeasurementResult]], None],
    ) -> None:
        import asyncio

        from vantage.probe.engine.context import DriverContext

        context = DriverContext(rng=self._rng, address_guard=self.limits.address_guard, pacer=pacer)
        max_concurrency = self.limits.max_concurrency
        semaphore = asyncio.Semaphore(max_concurrency)
        running: set[asyncio.Task[None]] = set()
        lag = LoopLag()
        watcher = asyncio.create_task(lag.watch())
        # Measurements a driver runs on loop callbacks, without a task (_callback_start).
        callbacks: set[Any] = set()
        bugs: list[BaseException] = []

        def start_on_callbacks(request: MeasurementRequest) -> bool:
            start = _callback_start(request.protocol)
            if start is None:
                return False
            token = lag.begin()
            in_flight = lag.running  # this one included

            def load() -> ProbeLoad:
                return ProbeLoad(in_flight, lag.end(token))

            def finish(result: MeasurementResult | BaseException) -> None:
                lag.forget(token)
                callbacks.discard(handle)
                semaphore.release()
                if isinstance(result, BaseException):
                    bugs.append(result)
                else:
                    emit([result])

            handle = start(request, context, finish, load)
            if handle is None:
                lag.forget(token)
                return False
            callbacks.add(handle)
            return True

        async def one(request: MeasurementRequest) -> None:
            token = lag.begin()
            in_flight = lag.running  # this one included
            try:
                result = await self._measure_one(request, context)
                emit([replace(result, probe_load=ProbeLoad(in_flight, lag.end(token)))])
            finally:
                lag.forget(token)
                semaphore.release()

        try:
            for request in requests:
                await semaphore.acquire()
                if bugs:
                    raise bugs[0]
                while pacer.take(time.monotonic_ns()) == 0:
                    await asyncio.sleep(max(0, pacer.next_token_ns() - time.monotonic_ns()) / 1e9)
                if start_on_callbacks(request):
                    continue
                task = asyncio.create_task(one(request))
                running.add(task)
                task.add_done_callback(running.discard)
            while running:
                await asyncio.gather(*list(running))
            for _ in range(max_concurrency):  # every slot back: the callback measurements ended too
                await semaphore.acquire()
            if bugs:
                raise bugs[0]
        finally:
            watcher.cancel()
            for handle in list(callbacks):
                handle.close()

    async def _measure_one(self, request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
        # The driver module named in vantage/protocols.py, imported at its kind's first request:
        # an ICMP sweep never loads dnspython, h11 or ssl (start-up time, RSS).
        measure = _MEASURES.get(request.protocol)
        if measure is None:
            kind = kind_of(request.protocol)
            if kind is None or kind.sweep:
                raise TypeError(f"no per-request driver for {type(request.options).__name__}")
            # Looked up once per kind: import_module's lookup cost ≈ 10 µs a request (issue 18).
            measure = _MEASURES[request.protocol] = kind.driver().measure
        measured: MeasurementResult = await measure(request, context)
        return measured


_MEASURES: dict[int, Callable[..., Any]] = {}


_CALLBACK_STARTS: dict[int, Callable[..., Any] | None] = {}


def _callback_start(protocol: int) -> Callable[..., Any] | None:
    """The `start_on_callbacks`-like entry point of a kind's driver module (engine/dns/driver.py:
    `start_on_callbacks(request, context, finish, load)`, returning a handle with close(), or None
    when the request needs `measure`), or None when the driver has none; looked up once."""
    try:
        return _CALLBACK_STARTS[protocol]
    except KeyError:
        pass
    kind = kind_of(protocol)
    start = None
    if kind is not None and not kind.sweep:
        start = getattr(kind.driver(), "start_on_callbacks", None)
    _CALLBACK_STARTS[protocol] = start
    return start


# The loop's lag is sampled with a 10 ms timer: ≈ 100 wake-ups a second while DNS, HTTP or TCP
# measurements run (a few µs of CPU each), fine enough to see queueing that moves a timing.
LOOP_LAG_TICK_S = 0.010


class LoopLag:
    """The most the event loop ran late, per measurement, while each ran (ProbeLoad.loop_lag_ms).

    A timer due every LOOP_LAG_TICK_S notes how late it fired; every measurement running at
    that moment keeps the worst lateness it has seen. The lateness is the time callbacks of
    other measurements (TLS handshakes, parsing, output) held the loop: the queueing that
    timings taken at socket events include.
    """

    def __init__(self) -> None:
        self._worst_ms: dict[int, float] = {}
        self._next_token = 0

    def begin(self) -> int:
        token = self._next_token
        self._next_token += 1
        self._worst_ms[token] = 0.0
        return token

    @property
    def running(self) -> int:
        """Measurements begun and not yet forgotten."""
        return len(self._worst_ms)

    def end(self, token: int) -> float:
        return self._worst_ms.get(token, 0.0)

    def forget(self, token: int) -> None:
        self._worst_ms.pop(token, None)

    def note(self, late_ms: float) -> None:
        worst = self._worst_ms
        for token, seen in worst.items():
            if late_ms > seen:
                worst[token] = late_ms

    async def watch(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LOOP_LAG_TICK_S
            await asyncio.sleep(LOOP_LAG_TICK_S)
            if self._worst_ms:
                self.note(max(0.0, loop.time() - due) * 1000)


def _raise_worker_failure(workers: Sequence[asyncio.Task[None]]) -> None:
    for worker in workers:
        if worker.done() and not worker.cancelled():
            exc = worker.exception()
            if exc is not None:
                raise exc
