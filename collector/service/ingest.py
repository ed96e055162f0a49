"""One result batch: decode, validate each item, keep only results of work issued to the probe
about that work's targets (issued_tasks.py), map targets to ASes, commit, build the ack.

Runs on a storage worker thread (CPU-bound decoding and validation and the
blocking commit stay off the event loop). The ack is built only after
`storage.ingest` returned, i.e. after the commit: an acked result is durable.

The batch arrives as the bytes the probe sent (SubmitResults is registered
without a deserializer, see probe_service.py): when every item is
acceptable, those bytes are what storage keeps, so nothing is re-encoded.
"""

from __future__ import annotations

import struct
import time
from collections import Counter
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from vantage.collector.service.issued_tasks import IssuedTasks, Refused
from vantage.collector.service.late_ack import RevisePolicy, mark_unrevised
from vantage.collector.service.locator import Locator
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import (
    MEASUREMENT_ID_BYTES,
    IngestCounts,
    ProbeRecord,
    ResultBatchRecord,
)
from vantage.collector.wire.batch_frame import BatchFrame, FrameError, TooManyItems, frame_items
from vantage.collector.wire.validation import (
    MAX_ID_LENGTH,
    MAX_MEASUREMENT_BYTES,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MEASUREMENT_ID_LENGTH,
    Rejection,
    ResultTargets,
    ValidationLimits,
    check_batch,
)
from vantage.v1 import measurement_pb2, probe_service_pb2


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    ack: probe_service_pb2.BatchAck
    rejected_by_reason: dict[str, int]
    latency_s: float


class BatchRefused(Exception):
    """The whole batch is refused (undecodable, too many items): the stream ends with `code`."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[BatchRefused], tuple[grpc.StatusCode, str]]:
        return BatchRefused, (self.code, self.message)  # raised in an ingest process, re-raised here


def frame_batch(raw: bytes, *, max_items: int, probe_id: str) -> BatchFrame:
    """Refuse a batch of more than `max_items` items from its bytes, before decoding it (an
    oversized batch costs O(max_items), not O(its size): collector/wire/batch_frame.py);
    returns what the bytes say of each item (the one walk over them: validation uses it).

    An item validation can accept holds a 36-character id and `probe_id` besides its other
    strings, so one no longer than a string bound plus those two cannot hold a string over
    that bound: the thresholds for reading string lengths (check_batch) count them."""
    accepted_ids = MEASUREMENT_ID_LENGTH + len(probe_id)
    try:
        return frame_items(
            raw,
            max_items=max_items,
            max_item_bytes=MAX_MEASUREMENT_BYTES,
            long_item_bytes=MAX_NAME_LENGTH + accepted_ids,
            longer_item_bytes=MAX_TEXT_LENGTH + accepted_ids,
        )
    except FrameError as exc:
        raise BatchRefused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"a ResultBatch of {len(raw)} bytes could not be decoded ({exc});"
            " earlier batches on this stream were committed and acked",
        ) from exc
    except TooManyItems as exc:
        raise BatchRefused(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"a batch of {len(raw)} bytes has {exc}, the limit per batch"
            " (earlier batches on this stream were committed and acked)",
        ) from exc


def decode_batch(raw: bytes) -> probe_service_pb2.ResultBatch:
    try:
        return probe_service_pb2.ResultBatch.FromString(raw)
    except DecodeError as exc:
        raise BatchRefused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"a ResultBatch of {len(raw)} bytes could not be decoded ({exc});"
            " earlier batches on this stream were committed and acked",
        ) from exc


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A decoded and validated batch: what storing it needs (picklable: it may come back from
    an ingest worker process, see ingest_pool.py)."""

    batch_id: str
    items: int
    measurement_ids: bytes  # 16 bytes per accepted item
    target_addresses: list[str]  # per accepted item, "" when none
    rounds: tuple[int, ...]
    first_started_unix_s: float
    last_started_unix_s: float
    # The accepted items re-encoded when some were rejected; None: store the batch as received.
    accepted_payload: bytes | None
    rejections: list[Rejection]
    # Per accepted item: the task it answers, its round and what it says of its target (what
    # IssuedTasks.check judges, beside target_addresses).
    task_ids: list[str]
    item_rounds: list[int]
    item_targets: ResultTargets


def check_raw_batch(
    raw: bytes, *, probe_id: str, limits: ValidationLimits, max_items: int, now_unix_s: float
) -> CheckedBatch:
    """Decode and validate (the CPU-bound half of ingest; no storage, no locator)."""
    frame = frame_batch(raw, max_items=max_items, probe_id=probe_id)
    batch = decode_batch(raw)
    measurements = batch.measurements
    checked = check_batch(
        measurements, caller_probe_id=probe_id, now_unix_s=now_unix_s, limits=limits, frame=frame
    )
    accepted_payload = None
    if checked.rejections and checked.accepted:  # store exactly the accepted items
        kept = probe_service_pb2.ResultBatch(
            batch_id=batch.batch_id, measurements=[measurements[i] for i in checked.accepted]
        )
        accepted_payload = kept.SerializeToString()
    return CheckedBatch(
        batch_id=batch.batch_id,
        items=len(checked.accepted),
        measurement_ids=checked.measurement_ids,
        target_addresses=checked.target_addresses,
        rounds=tuple(sorted(checked.rounds)),
        first_started_unix_s=checked.first_started_unix_s,
        last_started_unix_s=checked.last_started_unix_s,
        accepted_payload=accepted_payload,
        rejections=checked.rejections,
        task_ids=checked.task_ids,
        item_rounds=checked.item_rounds,
        item_targets=checked.item_targets,
    )


def without_unissued(checked: CheckedBatch, raw: bytes, unissued: list[Refused]) -> CheckedBatch:
    """The batch without the accepted items at these positions (work the collector did not
    give this probe, or a result about another target than its task's,
    collector/service/issued_tasks.py), each rejected with the reason and field given.

    Decodes the batch again: only batches holding such items pay for it."""
    measurements = decode_batch(raw).measurements
    rejected_before = {r.index for r in checked.rejections}
    indexes = [i for i in range(len(measurements)) if i not in rejected_before]  # the accepted items
    refused = {r.position for r in unissued}
    kept = [p for p in range(len(indexes)) if p not in refused]
    rejections = [
        Rejection(
            indexes[r.position],
            measurements[indexes[r.position]].id[:MAX_ID_LENGTH],
            r.field,
            r.reason,
            r.message,
        )
        for r in unissued
    ]
    ids = checked.measurement_ids
    id_bytes = MEASUREMENT_ID_BYTES
    started = [_started_unix_s(measurements[indexes[p]]) for p in kept]
    payload = probe_service_pb2.ResultBatch(
        batch_id=checked.batch_id, measurements=[measurements[indexes[p]] for p in kept]
    ).SerializeToString()
    return CheckedBatch(
        batch_id=checked.batch_id,
        items=len(kept),
        measurement_ids=b"".join(ids[p * id_bytes : (p + 1) * id_bytes] for p in kept),
        target_addresses=[checked.target_addresses[p] for p in kept],
        rounds=tuple(sorted({checked.item_rounds[p] for p in kept})),
        first_started_unix_s=min(started, default=float("inf")),
        last_started_unix_s=max(started, default=float("-inf")),
        accepted_payload=payload,
        rejections=sorted([*checked.rejections, *rejections], key=lambda r: r.index),
        task_ids=[checked.task_ids[p] for p in kept],
        item_rounds=[checked.item_rounds[p] for p in kept],
        item_targets=checked.item_targets.select(kept),
    )


def _started_unix_s(m: measurement_pb2.Measurement) -> float:
    return m.started_at.seconds + m.started_at.nanos * 1e-9


def store_checked_batch(
    checked: CheckedBatch,
    raw: bytes,
    *,
    probe: ProbeRecord,
    storage: Storage,
    locator: Locator,
    issued: IssuedTasks,
    now_unix_s: float,
    revise_policy: RevisePolicy | None = None,
) -> tuple[probe_service_pb2.BatchAck, dict[str, int]]:
    """Refuse the items that answer no task issued to the probe or speak of another target than
    their task's, map the other accepted items' targets to ASes, commit, and build the ack (after
    the commit); with `revise_policy`, the ack says how many late results revise nothing
    (late_ack.py)."""
    if checked.items:
        unissued = issued.check(
            probe.probe_id,
            checked.task_ids,
            checked.item_rounds,
            checked.target_addresses,
            checked.item_targets,
        )
        if unissued:
            checked = without_unissued(checked, raw, unissued)
    counts = IngestCounts(accepted=0, duplicates=0)
    if checked.items:
        asns = locator.asns(checked.target_addresses)
        counts = storage.ingest(
            ResultBatchRecord(
                probe_id=probe.probe_id,
                probe_asn=probe.asn,
                probe_country=probe.country,
                received_at_unix_s=now_unix_s,
                first_started_at_unix_s=checked.first_started_unix_s,
                last_started_at_unix_s=checked.last_started_unix_s,
                rounds=checked.rounds,
                measurement_ids=checked.measurement_ids,
                target_asns=struct.pack(f"<{len(asns)}I", *asns),
                payload=raw if checked.accepted_payload is None else checked.accepted_payload,
            )
        )
    rejections = checked.rejections
    ack = probe_service_pb2.BatchAck(
        batch_id=checked.batch_id,
        accepted=counts.accepted,
        duplicates=counts.duplicates,
        rejected=[
            probe_service_pb2.RejectedItem(
                index=r.index,
                measurement_id=r.measurement_id,
                field=r.field,
                reason=int(r.reason),  # type: ignore[arg-type]
                message=r.message,
            )
            for r in rejections
        ],
    )
    if revise_policy is not None and checked.items:
        payload = raw if checked.accepted_payload is None else checked.accepted_payload
        mark_unrevised(
            ack, payload, checked.rounds, storage=storage, policy=revise_policy, now_unix_s=now_unix_s
        )
    return ack, dict(Counter(r.reason.name.lower() for r in rejections))


def ingest_batch(
    raw: bytes,
    *,
    probe: ProbeRecord,
    storage: Storage,
    locator: Locator,
    issued: IssuedTasks,
    limits: ValidationLimits,
    max_items: int,
    now_unix_s: float,
    revise_policy: RevisePolicy | None = None,
) -> BatchOutcome:
    """Both halves in this thread (small batches, or no ingest processes)."""
    started = time.perf_counter()
    checked = check_raw_batch(
        raw, probe_id=probe.probe_id, limits=limits, max_items=max_items, now_unix_s=now_unix_s
    )
    ack, by_reason = store_checked_batch(
        checked,
        raw,
        probe=probe,
        storage=storage,
        locator=locator,
        issued=issued,
        now_unix_s=now_unix_s,
        revise_policy=revise_policy,
    )
    return BatchOutcome(ack=ack, rejected_by_reason=by_reason, latency_s=time.perf_counter() - started)
