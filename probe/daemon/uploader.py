"""Upload the outbox over SubmitResults, deleting only what a collector acked.

Theory of operation. Rows are read from the outbox in sequence order and sent
as batches on one client stream, with up to `window` batches awaiting their
acks (acks come back in order, each only after the collector committed the
batch). On an ack, every row of that batch is done, whether the collector
accepted it, already had it (duplicate) or rejected it (logged: rejected rows
cannot improve by resending), and the rows are deleted. On any error the stream
is abandoned: rows not yet acked stay in the outbox and are sent again, to the
same collector or another; the collector deduplicates on measurement id, so a
result acked just before a crash and sent again is stored once.

On stop (SIGTERM) no new batch is started; the acks of batches already sent
are awaited (bounded), then the stream is closed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import grpc.aio

from vantage.probe.daemon.link import Link
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.outbox import AsyncOutbox
from vantage.v1 import measurement_pb2, probe_service_pb2

log = logging.getLogger(__name__)
T = TypeVar("T")

# Batches sent ahead of their acks: enough to hide one commit's latency at the
# collector, small enough that a failover re-sends little.
DEFAULT_WINDOW = 4
# A collector that takes longer than this to commit a batch is treated as down.
DEFAULT_ACK_TIMEOUT_S = 30.0
# When idle, look at the outbox at least this often even without a wake-up.
IDLE_POLL_S = 5.0


@dataclass(frozen=True, slots=True)
class _InFlight:
    batch_id: str
    seqs: tuple[int, ...]
    measurement_ids: tuple[str, ...]


class Uploader:
    def __init__(
        self,
        outbox: AsyncOutbox,
        link: Link,
        metrics: ProbeMetrics,
        *,
        batch_size: int,
        window: int = DEFAULT_WINDOW,
        ack_timeout_s: float = DEFAULT_ACK_TIMEOUT_S,
    ) -> None:
        self._outbox = outbox
        self._link = link
        self._metrics = metrics
        self._batch_size = batch_size
        self._window = window
        # Results younger than this wait (the probe's clock is ahead of the collector's
        # beyond its tolerance; see scheduler.upload_hold_back_s). Set by the runner.
        self.hold_back_s = 0.0
        self._ack_timeout_s = ack_timeout_s
        self.wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self._outbox.read_after(0, 1, self._written_before()):
                await self._idle(stop)
                continue
            acquired = await self._link.acquire_waiting(stop)
            if acquired is None:
                return
            address, stub = acquired
            call = stub.SubmitResults(metadata=self._link.metadata())
            try:
                await self._drain(call, stop)
            except (grpc.aio.AioRpcError, TimeoutError, ConnectionError, asyncio.InvalidStateError) as error:
                # InvalidStateError: the server ended the stream while we wrote; its status says why.
                code = await _final_code(call)
                call.cancel()
                self._link.failed(address, "SubmitResults", error, code)
                continue
            except Exception as error:  # a bug of ours: say so loudly, keep the probe alive
                log.exception("upload failed unexpectedly; retrying later")
                call.cancel()
                self._link.failed(address, "SubmitResults", error, grpc.StatusCode.INTERNAL)
                continue
            self._link.succeeded(address)
            await self._refresh_outbox_metrics()

    def _written_before(self) -> float:
        return time.time() - self.hold_back_s if self.hold_back_s > 0 else float("inf")

    async def _idle(self, stop: asyncio.Event) -> None:
        self.wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=IDLE_POLL_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _drain(self, call: Any, stop: asyncio.Event) -> None:
        in_flight: collections.deque[_InFlight] = collections.deque()
        cursor = 0
        while True:
            while len(in_flight) < self._window and not stop.is_set():
                rows = await self._outbox.read_after(cursor, self._batch_size, self._written_before())
                if not rows:
                    break
                batch = probe_service_pb2.ResultBatch(batch_id=uuid.uuid4().hex)
                for row in rows:
                    batch.measurements.append(measurement_pb2.Measurement.FromString(row.payload))
                # Bounded like the ack: a stream whose connection broke can leave a write
                # pending with no error (seen after a cut of the probe's uplink: the uploader
                # hung and its outbox never drained); the TimeoutError retries on a new stream.
                await _on_call(call, call.write(batch), self._ack_timeout_s)
                in_flight.append(
                    _InFlight(
                        batch.batch_id, tuple(r.seq for r in rows), tuple(r.measurement_id for r in rows)
                    )
                )
                cursor = rows[-1].seq
            if not in_flight:
                await call.done_writing()
                return
            ack = await _on_call(call, call.read(), self._ack_timeout_s)
            if not isinstance(ack, probe_service_pb2.BatchAck):  # grpc.aio.EOF
                raise ConnectionError("the collector closed the stream before acknowledging every batch")
            await self._settle(ack, in_flight)

    async def _settle(self, ack: probe_service_pb2.BatchAck, in_flight: collections.deque[_InFlight]) -> None:
        sent = next((batch for batch in in_flight if batch.batch_id == ack.batch_id), None)
        if sent is None:
            log.warning("ack for unknown batch %s ignored", ack.batch_id)
            return
        in_flight.remove(sent)
        counted = ack.accepted + ack.duplicates + len(ack.rejected)
        if counted != len(sent.seqs):
            log.warning(
                "collector acked batch %s with %d of %d results accounted for; treating the batch as done",
                ack.batch_id,
                counted,
                len(sent.seqs),
            )
        for item in ack.rejected:
            log.warning(
                "collector rejected measurement %s (%s, field %s): %s; not resending",
                item.measurement_id or _id_at(sent, item.index),
                probe_service_pb2.RejectReason.Name(item.reason),
                item.field or "-",
                item.message,
            )
        await self._outbox.delete(sent.seqs)
        self._metrics.observe_ack(ack.accepted, ack.duplicates, len(ack.rejected), time.time())

    async def _refresh_outbox_metrics(self) -> None:
        depth, oldest, _dropped = await self._outbox.stats()
        self._metrics.observe_outbox(depth, oldest)


async def _on_call(call: Any, operation: Awaitable[T], timeout_s: float) -> T:
    """`operation` of `call`, ended early when the call itself ends.

    A write awaited on a call that was cancelled meanwhile (its channel closed under it) stays
    pending in grpc.aio until the timeout: the uploader then sat out ack_timeout_s (30 s) after
    the collector was back (test_reconnect.py). Raises TimeoutError after `timeout_s`, and
    ConnectionError when the call ended first (_final_code says how).
    """
    ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def end(_call: Any) -> None:
        if not ended.done():
            ended.set_result(None)

    call.add_done_callback(end)
    if call.done():
        end(call)
    running = asyncio.ensure_future(operation)
    try:
        await asyncio.wait((running, ended), timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not running.done():
            running.cancel()
    if running.done() and not running.cancelled():
        return running.result()
    if ended.done():
        raise ConnectionError("the stream ended while a write or read was pending")
    raise TimeoutError(f"no progress on the stream in {timeout_s:.0f} s")


def _id_at(batch: _InFlight, index: int) -> str:
    return batch.measurement_ids[index] if index < len(batch.measurement_ids) else "?"


async def _final_code(call: Any) -> grpc.StatusCode | None:
    if not call.done():
        return None
    try:
        code: grpc.StatusCode = await asyncio.wait_for(call.code(), timeout=1.0)
    except (TimeoutError, asyncio.CancelledError, grpc.aio.AioRpcError):
        return None
    return code
