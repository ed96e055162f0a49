"""Run one round's tasks: safety checks, the engine, the outbox (asyncio edge).

Each task is first checked against the local safety policy. An HTTP task given
by host name is resolved by the engine's own DNS step (A and AAAA against
resolv.conf's servers), as `vantage probe measure http` does: DNS-based blocking
is then named (dns_nxdomain_error, dns_server_failure...) with the rcode and the
answers in the result's resolve phase, and every address found goes through the
policy as the engine's address guard (policy.address_guard) before anything is
sent to it. Any other task given by host name is resolved here and every address
checked, then pinned to the checked address so the engine cannot resolve
elsewhere. Refused and
unrunnable tasks become reported measurements. The rest go to the engine,
whose rate and concurrency limits are the policy's. Results are serialized
and committed to the outbox in small groups (by count or by age) so that a
crash loses at most the results of the last fraction of a second, and never
anything already committed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vantage.kinds import Outcome, Protocol
from vantage.probe.daemon import wire
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.outbox import AsyncOutbox, NewResult, OutboxFull
from vantage.probe.daemon.plan import PlannedTask, request_from_task, task_host, with_address
from vantage.probe.daemon.policy import (
    NOT_AN_ADDRESS,
    Refusal,
    SafetyPolicy,
    check_address,
    check_addresses,
    check_task_bounds,
)

if TYPE_CHECKING:
    from vantage.probe.engine import Engine, MeasurementRequest

log = logging.getLogger(__name__)

# Commit to the outbox every 200 results or 0.25 s, whichever first: one fsync
# per group keeps a 10,000-task round at a few dozen commits.
FLUSH_EVERY_RESULTS = 200
FLUSH_EVERY_S = 0.25
# Resolving a task's host name must not stall a round.
RESOLVE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RoundContext:
    probe_id: str
    round_number: int
    version: str
    offline: bool = False

    def fields(self) -> dict[str, Any]:
        return {"probe_id": self.probe_id, "round_number": self.round_number, "probe_version": self.version}


class ResultWriter:
    """Buffers serialized results and commits them to the outbox in groups."""

    def __init__(self, outbox: AsyncOutbox, metrics: ProbeMetrics, on_commit: asyncio.Event) -> None:
        self._outbox = outbox
        self._metrics = metrics
        self._on_commit = on_commit
        self._pending: list[NewResult] = []
        self._labels: list[tuple[str, str, str]] = []
        self._oldest_pending_s = 0.0
        self.written = 0

    async def add(self, result: wire.EncodedResult) -> None:
        if not self._pending:
            self._oldest_pending_s = time.monotonic()
        self._pending.append(NewResult(result.measurement_id, time.time(), result.payload))
        self._labels.append(result.labels)
        if (
            len(self._pending) >= FLUSH_EVERY_RESULTS
            or time.monotonic() - self._oldest_pending_s >= FLUSH_EVERY_S
        ):
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, labels = self._pending, self._labels
        self._pending, self._labels = [], []
        try:
            outcome = await self._outbox.add(pending)
        except OutboxFull as full:  # keep measuring and uploading; these results are lost
            self._metrics.disk_full_dropped.inc(full.count)
            log.error("%s; measuring and uploading go on", full)
            return
        self.written += outcome.added
        self._metrics.observe_written(labels, outcome)
        if outcome.dropped:
            log.warning(
                "outbox full (%d results): dropped the %d oldest results to keep the newest",
                self._outbox.sync.max_results,
                outcome.dropped,
            )
        depth, oldest, _ = await self._outbox.stats()
        self._metrics.observe_outbox(depth, oldest)
        self._on_commit.set()


async def _resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_S
    )
    return sorted({str(info[4][0]) for info in infos})


async def vet_task(task: PlannedTask, policy: SafetyPolicy) -> tuple[PlannedTask, Refusal | None]:
    """The task as it may run (pinned to a checked address), or why it is refused."""
    bound = check_task_bounds(task, policy)
    if bound is not None:
        return task, bound
    host = task_host(task)
    if not host:
        return task, None  # nothing to send to: the engine reports the malformed task
    refusal = check_address(host, policy)
    if refusal is None or refusal.reason != NOT_AN_ADDRESS:
        return task, refusal  # an IP address, judged (parsed once: this runs per task)
    if task.protocol is Protocol.HTTP:
        # The engine resolves it with its DNS step, the policy guarding each address found: a
        # refused one is never connected to, and none allowed is a REFUSED_BY_POLICY result.
        return task, None
    try:
        addresses = await _resolve(host)
    except (OSError, TimeoutError):
        return task, None  # the engine resolves again and records the DNS failure as data
    refusal = check_addresses(addresses, policy)
    if refusal is not None:
        return task, refusal
    return with_address(task, addresses[0]), None


async def run_round(
    tasks: Sequence[PlannedTask],
    context: RoundContext,
    *,
    engine: Engine,
    policy: SafetyPolicy,
    writer: ResultWriter,
    metrics: ProbeMetrics,
    stop: asyncio.Event,
) -> int:
    """Measure every task once; returns the number of results written."""
    from vantage.probe.engine import IcmpUnavailable

    started = writer.written
    now = datetime.now(UTC)
    runnable: dict[str, PlannedTask] = {}
    requests: list[MeasurementRequest] = []
    indexes = {task.id: index for index, task in enumerate(tasks)}  # ids follow plan order
    for task in tasks:
        try:  # each task alone: whatever one task holds, the rest of the round runs
            vetted, refusal = await vet_task(task, policy)
        except Exception as exc:  # a collector's task must not stop the round
            log.warning("task %s cannot be run: %s", task.id[:64], exc)
            reason = f"task cannot be run: {type(exc).__name__}: {exc}"
            await writer.add(wire.unrunnable_measurement(task, reason, started_at=now, **context.fields()))
            continue
        if refusal is not None:
            metrics.refused.labels(reason=refusal.reason).inc()
            log.info("task %s refused by local policy: %s", task.id, refusal.detail)
            await writer.add(wire.refused_measurement(task, refusal, started_at=now, **context.fields()))
            continue
        try:
            request = request_from_task(vetted)
        except Exception as exc:  # one malformed task is reported, not fatal
            log.warning("task %s cannot be run: %s", task.id, exc)
            reason = f"task cannot be run: {exc}"
            await writer.add(wire.unrunnable_measurement(task, reason, started_at=now, **context.fields()))
            continue
        runnable[request.key] = vetted
        requests.append(request)
    await writer.flush()
    try:
        await _measure(requests, runnable, indexes, context, engine, writer, stop, policy, metrics)
    except IcmpUnavailable as exc:
        # Measure everything else; report the ICMP tasks as failures that say why.
        log.error("ICMP is unavailable on this host: %s", exc)
        icmp = [r for r in requests if runnable[r.key].protocol is Protocol.ICMP]
        others = [r for r in requests if runnable[r.key].protocol is not Protocol.ICMP]
        for request in icmp:
            reason = f"ICMP unavailable: {exc}"
            task = runnable[request.key]
            await writer.add(wire.unrunnable_measurement(task, reason, started_at=now, **context.fields()))
        await _measure(others, runnable, indexes, context, engine, writer, stop, policy, metrics)
    await writer.flush()
    return writer.written - started


async def _measure(
    requests: list[MeasurementRequest],
    runnable: dict[str, PlannedTask],
    indexes: dict[str, int],
    context: RoundContext,
    engine: Engine,
    writer: ResultWriter,
    stop: asyncio.Event,
    policy: SafetyPolicy,
    metrics: ProbeMetrics,
) -> None:
    if not requests:
        return
    results = engine.run(requests)
    try:
        async for result in results:
            task = runnable[result.key]
            if result.outcome is Outcome.REFUSED_BY_POLICY:
                # The engine's address guard refused an address it met (a name it resolved, a
                # redirect's host): counted under that range's reason, as a vetted task is.
                refusal = check_address(result.address, policy)
                metrics.refused.labels(reason=refusal.reason if refusal else "address-guard").inc()
            encoded = wire.encode_result(
                result,
                task,
                probe_id=context.probe_id,
                round_number=context.round_number,
                probe_version=context.version,
                task_index=indexes.get(task.id, 0),
            )
            await writer.add(encoded)
            if stop.is_set():
                log.info("stopping: the rest of round %d is not measured", context.round_number)
                break
    finally:
        await results.aclose()  # type: ignore[attr-defined]
        await writer.flush()
