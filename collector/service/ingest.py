"""One result batch: validate each item, map targets to ASes, commit, build the ack.

Runs on a storage worker thread (CPU-bound validation and the blocking commit
stay off the event loop). The ack is built only after `storage.ingest`
returned, i.e. after the commit: an acked result is durable.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from vantage.collector.service.locator import Locator
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import MeasurementRow, ProbeRecord
from vantage.collector.validation import Rejection, ValidationLimits, check_measurement
from vantage.collector.wire.measurements import measurement_row
from vantage.v1 import probe_service_pb2


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    ack: probe_service_pb2.BatchAck
    rejected_by_reason: dict[str, int]
    latency_s: float


def ingest_batch(
    batch: probe_service_pb2.ResultBatch,
    *,
    probe: ProbeRecord,
    storage: Storage,
    locator: Locator,
    limits: ValidationLimits,
    now_unix_s: float,
) -> BatchOutcome:
    started = time.perf_counter()
    rows: list[MeasurementRow] = []
    rejections: list[Rejection] = []
    probe_id = probe.probe_id
    probe_asn = probe.asn
    probe_country = probe.country
    locate = locator.locate
    for index, m in enumerate(batch.measurements):
        checked = check_measurement(index, m, caller_probe_id=probe_id, now_unix_s=now_unix_s, limits=limits)
        if isinstance(checked, Rejection):
            rejections.append(checked)
            continue
        address = checked.target_address
        rows.append(
            measurement_row(
                m,
                checked=checked,
                probe_id=probe_id,
                target_asn=locate(address)[0] if address else 0,
                probe_asn=probe_asn,
                probe_country=probe_country,
                received_at_unix_s=now_unix_s,
            )
        )
    counts = storage.ingest(probe_id, rows)
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
