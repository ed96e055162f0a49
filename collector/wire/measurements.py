"""Stored result batches → the round's measurements (the one place that decodes them).

Ingest stores each batch as the probe sent it (collector/service/ingest.py);
the round decodes the payloads of its batches once and derives, per result,
the columns the verdict needs. Items of other rounds and duplicates the
storage skipped are left out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping

from vantage.collector.storage.records import ResultBatchRecord, RoundMeasurement
from vantage.collector.wire.validation import normalized_address
from vantage.v1 import measurement_pb2, probe_service_pb2

_ADDRESS_RECORD_TYPES = frozenset({"A", "AAAA"})


def derived_columns(
    m: measurement_pb2.Measurement,
) -> tuple[float | None, float | None, int, str, int, str]:
    """(rtt_ms, loss_ratio, status_code, body_sha256, body_length, dns_answers) of a result."""
    rtt_ms: float | None = None
    loss_ratio: float | None = None
    status_code = 0
    body_sha256 = ""
    body_length = 0
    dns_answers = ""
    which = m.WhichOneof("details")
    if which == "icmp":
        icmp = m.icmp
        if icmp.received:
            rtt_ms = icmp.avg_rtt_ms
        if icmp.sent:
            loss_ratio = 1.0 - min(icmp.received, icmp.sent) / icmp.sent
    elif which == "dns":
        dns = m.dns
        rtt_ms = dns.response_time_ms or None
        dns_answers = " ".join(a.data for a in dns.answers if a.type in _ADDRESS_RECORD_TYPES)
    elif which == "http":
        http = m.http
        rtt_ms = http.timings.total_ms or None
        status_code = http.status_code
        body_sha256 = http.body_sha256
        body_length = http.body_length
    elif which == "tcp":
        rtt_ms = m.tcp.connect_ms or None
    return rtt_ms, loss_ratio, status_code, body_sha256, body_length, dns_answers


def round_measurements(
    batches: Iterable[ResultBatchRecord], round_number: int, task_kinds: Mapping[str, int]
) -> list[RoundMeasurement]:
    """Every stored result of the round, ordered by measurement id (deterministic input for
    the verdict engine whatever order the batches arrived in)."""
    found: list[RoundMeasurement] = []
    for batch in batches:
        items = probe_service_pb2.ResultBatch.FromString(batch.payload).measurements
        asns = struct.unpack(f"<{len(items)}I", batch.target_asns)
        skipped = set(batch.skipped)
        for index, m in enumerate(items):
            if m.round != round_number or index in skipped:
                continue
            target = m.target
            address = target.address
            found.append(
                RoundMeasurement(
                    m.id.lower(),
                    batch.probe_id,
                    batch.probe_asn,
                    batch.probe_country,
                    target.target_id,
                    (normalized_address(address) or address) if address else "",
                    asns[index],
                    m.protocol,
                    task_kinds.get(m.task_id, 0),
                    m.outcome,
                    m.failure.kind,
                    *derived_columns(m),
                )
            )
    found.sort(key=lambda row: row.measurement_id)
    return found
