"""One result batch: decode, validate each item, map targets to ASes, commit, build the ack.

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

from vantage.collector.service.locator import Locator
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import IngestCounts, ProbeRecord, ResultBatchRecord
from vantage.collector.validation import ValidationLimits, check_batch
from vantage.v1 import probe_service_pb2


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


def decode_batch(raw: bytes, *, max_items: int) -> probe_service_pb2.ResultBatch:
    try:
        batch = probe_service_pb2.ResultBatch.FromString(raw)
    except DecodeError as exc:
        raise BatchRefused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"a ResultBatch of {len(raw)} bytes could not be decoded ({exc});"
            " earlier batches on this stream were committed and acked",
        ) from exc
    count = len(batch.measurements)
    if count > max_items:
        raise BatchRefused(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"batch {batch.batch_id!r} has {count} measurements; the limit is {max_items}"
            " per batch (earlier batches on this stream were committed and acked)",
        )
    return batch


def ingest_batch(
    raw: bytes,
    *,
    probe: ProbeRecord,
    storage: Storage,
    locator: Locator,
    limits: ValidationLimits,
    max_items: int,
    now_unix_s: float,
) -> BatchOutcome:
    started = time.perf_counter()
    batch = decode_batch(raw, max_items=max_items)
    measurements = batch.measurements
    checked = check_batch(measurements, caller_probe_id=probe.probe_id, now_unix_s=now_unix_s, limits=limits)
    counts = IngestCounts(accepted=0, duplicates=0)
    if checked.accepted:
        locate = locator.locate
        asns = [locate(address)[0] if address else 0 for address in checked.target_addresses]
        if checked.rejections:  # store exactly the accepted items
            kept = probe_service_pb2.ResultBatch(
                batch_id=batch.batch_id, measurements=[measurements[i] for i in checked.accepted]
            )
            payload = kept.SerializeToString()
        else:
            payload = raw
        counts = storage.ingest(
            ResultBatchRecord(
                probe_id=probe.probe_id,
                probe_asn=probe.asn,
                probe_country=probe.country,
                received_at_unix_s=now_unix_s,
                first_started_at_unix_s=checked.first_started_unix_s,
                last_started_at_unix_s=checked.last_started_unix_s,
                rounds=tuple(sorted(checked.rounds)),
                measurement_ids=checked.measurement_ids,
                target_asns=struct.pack(f"<{len(asns)}I", *asns),
                payload=payload,
            )
        )
    rejections = checked.rejections
    ack = probe_service_pb2.BatchAck(
        batch_id=batch.batch_id,
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
    by_reason = Counter(r.reason.name.lower() for r in rejections)
    return BatchOutcome(ack=ack, rejected_by_reason=dict(by_reason), latency_s=time.perf_counter() - started)
