"""Test support: results described as flat rows → the ResultBatchRecord that ingest would store.

Storage keeps raw results per batch (serialized vantage.v1.ResultBatch plus
per-item ids and ASes); tests describe results as one flat row each, the
columns the round reads, and `batch_of` builds real protobuf measurements
from them, so what the round decodes is what a probe would have sent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from vantage.collector.storage.records import ResultBatchRecord, measurement_id_bytes
from vantage.v1 import measurement_pb2, probe_service_pb2


class MeasurementRow(NamedTuple):
    measurement_id: str
    probe_id: str
    round: int
    task_id: str
    target_id: str
    target_address: str
    target_asn: int
    probe_asn: int
    probe_country: str
    protocol: int
    outcome: int
    failure: str
    rtt_ms: float | None
    loss_ratio: float | None
    status_code: int
    body_sha256: str
    body_length: int
    dns_answers: str
    started_at_unix_s: float
    received_at_unix_s: float
    payload: bytes = b""  # unused: the measurement is built from the columns


ICMP_PACKETS = 100  # loss ratios in tests are whole percents


def measurement_of(row: MeasurementRow) -> measurement_pb2.Measurement:
    m = measurement_pb2.Measurement(
        id=row.measurement_id,
        probe_id=row.probe_id,
        round=row.round,
        task_id=row.task_id,
        protocol=row.protocol,  # type: ignore[arg-type]
        outcome=row.outcome,  # type: ignore[arg-type]
    )
    if row.target_address:
        m.target.address = row.target_address
    else:
        m.target.name = row.target_id or "example.org"
    m.target.target_id = row.target_id
    if row.failure:
        m.failure.kind = row.failure
    m.started_at.FromNanoseconds(int(row.started_at_unix_s * 1e9))
    if row.protocol == measurement_pb2.PROTOCOL_ICMP:
        m.icmp.sent = ICMP_PACKETS
        m.icmp.received = round(ICMP_PACKETS * (1.0 - (row.loss_ratio or 0.0)))
        if row.rtt_ms is not None:
            m.icmp.avg_rtt_ms = row.rtt_ms
    elif row.protocol == measurement_pb2.PROTOCOL_DNS:
        m.dns.response_time_ms = row.rtt_ms or 0.0
        for data in row.dns_answers.split():
            m.dns.answers.add(name="example.org.", type="AAAA" if ":" in data else "A", ttl=60, data=data)
    elif row.protocol == measurement_pb2.PROTOCOL_HTTP:
        m.http.timings.total_ms = row.rtt_ms or 0.0
        m.http.status_code = row.status_code
        m.http.body_sha256 = row.body_sha256
        m.http.body_length = row.body_length
    elif row.protocol == measurement_pb2.PROTOCOL_TCP:
        m.tcp.connect_ms = row.rtt_ms or 0.0
    return m


def batch_of(rows: Sequence[MeasurementRow]) -> ResultBatchRecord:
    """One stored batch of these rows (probe and location from the first row)."""
    first = rows[0] if rows else None
    started = [r.started_at_unix_s for r in rows] or [0.0]
    payload = probe_service_pb2.ResultBatch(
        batch_id="test", measurements=[measurement_of(r) for r in rows]
    ).SerializeToString()
    return ResultBatchRecord(
        probe_id=first.probe_id if first else "",
        probe_asn=first.probe_asn if first else 0,
        probe_country=first.probe_country if first else "",
        received_at_unix_s=max((r.received_at_unix_s for r in rows), default=0.0),
        first_started_at_unix_s=min(started),
        last_started_at_unix_s=max(started),
        rounds=tuple(sorted({r.round for r in rows})),
        measurement_ids=b"".join(measurement_id_bytes(r.measurement_id) for r in rows),
        target_asns=struct.pack(f"<{len(rows)}I", *(r.target_asn for r in rows)),
        payload=payload,
    )


# What a test reads straight from a collector's database (SQLite or PostgreSQL).
STORED_RESULTS_SQL = "SELECT probe_id, skipped, payload FROM result_batches ORDER BY batch_key"


def stored_results(rows: Iterable[Sequence[Any]]) -> list[tuple[str, measurement_pb2.Measurement]]:
    """(probe_id, measurement) of every stored result, from rows of STORED_RESULTS_SQL
    (duplicates a batch carried, which storage skipped, are left out)."""
    found = []
    for probe_id, skipped, payload in rows:
        not_stored = {int(n) for n in str(skipped).split()}
        items = probe_service_pb2.ResultBatch.FromString(bytes(payload)).measurements
        found += [(str(probe_id), m) for n, m in enumerate(items) if n not in not_stored]
    return found
