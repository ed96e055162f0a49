"""A validated wire Measurement → the stored `MeasurementRow` (the ingest hot path)."""

from __future__ import annotations

from vantage.collector.storage.records import MeasurementRow
from vantage.collector.validation import Checked, normalized_address
from vantage.v1 import measurement_pb2

_ADDRESS_RECORD_TYPES = frozenset({"A", "AAAA"})


def started_at_unix_s(m: measurement_pb2.Measurement) -> float:
    return m.started_at.seconds + m.started_at.nanos * 1e-9


def measurement_row(
    m: measurement_pb2.Measurement,
    *,
    checked: Checked | None = None,
    probe_id: str | None = None,
    target_asn: int,
    probe_asn: int,
    probe_country: str,
    received_at_unix_s: float,
) -> MeasurementRow:
    """The row to store for a measurement that passed validation (`checked`: what it read;
    `probe_id`: the authenticated probe's id, which validation made sure equals m.probe_id)."""
    if probe_id is None:
        probe_id = m.probe_id
    if checked is None:
        address = m.target.address
        checked = Checked(
            m.id.lower(),
            m.round,
            m.task_id,
            started_at_unix_s(m),
            (normalized_address(address) or address) if address else "",
            m.target.target_id,
            m.protocol,
            m.outcome,
            m.failure.kind,
        )
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
    return MeasurementRow(
        checked.measurement_id,
        probe_id,
        checked.round,
        checked.task_id,
        checked.target_id,
        checked.target_address,
        target_asn,
        probe_asn,
        probe_country,
        checked.protocol,
        checked.outcome,
        checked.failure,
        rtt_ms,
        loss_ratio,
        status_code,
        body_sha256,
        body_length,
        dns_answers,
        checked.started_at_unix_s,
        received_at_unix_s,
        m.SerializeToString(),
    )
