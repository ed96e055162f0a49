"""Measurements and batches for tests (documentation addresses only)."""

from __future__ import annotations

import time
import uuid

from vantage.v1 import measurement_pb2, probe_service_pb2


def measurement(
    probe_id: str,
    *,
    measurement_id: str | None = None,
    address: str = "192.0.2.1",
    protocol: int = measurement_pb2.PROTOCOL_ICMP,
    outcome: int = measurement_pb2.OUTCOME_OK,
    failure: str = "",
    started_at: float | None = None,
    round_number: int = 0,
    target_id: str = "t-192.0.2.1",
) -> measurement_pb2.Measurement:
    m = measurement_pb2.Measurement(
        id=measurement_id or str(uuid.uuid4()),
        probe_id=probe_id,
        target=measurement_pb2.Target(address=address, target_id=target_id),
        protocol=protocol,  # type: ignore[arg-type]
        outcome=outcome,  # type: ignore[arg-type]
        round=round_number,
        address_family=4,
    )
    m.started_at.FromNanoseconds(int((started_at if started_at is not None else time.time()) * 1e9))
    if failure:
        m.failure.kind = failure
        m.failure.operation = measurement_pb2.OPERATION_ICMP_ECHO
    if protocol == measurement_pb2.PROTOCOL_ICMP:
        m.icmp.sent = 3
        m.icmp.received = 3 if outcome == measurement_pb2.OUTCOME_OK else 0
        m.icmp.avg_rtt_ms = 12.5
    return m


def batch(batch_id: str, measurements: list[measurement_pb2.Measurement]) -> probe_service_pb2.ResultBatch:
    return probe_service_pb2.ResultBatch(batch_id=batch_id, measurements=measurements)
