"""Domain values <-> vantage.v1 protobuf, for the probe.

The engine's results as protobuf: a MeasurementResult becomes a Measurement (for the daemon's
outbox, probe/daemon/wire.py, and `vantage probe measure --json`). Enum values are shared
numbers (vantage/kinds.py, vantage/failures.py), so they convert by value. Tasks come in
through probe/daemon/wire.py, which makes them plain values (probe/daemon/plan.py).
"""

from __future__ import annotations

from datetime import timedelta

from vantage.probe.engine.model import (
    DnsDetails,
    HttpDetails,
    IcmpDetails,
    MeasurementResult,
    TcpDetails,
    TracerouteDetails,
)
from vantage.v1 import measurement_pb2


def result_to_proto(
    result: MeasurementResult,
    *,
    probe_id: str,
    measurement_id: str,
    round: int = 0,
    task_id: str = "",
    probe_version: str = "",
) -> measurement_pb2.Measurement:
    measurement = measurement_pb2.Measurement(
        id=measurement_id,
        probe_id=probe_id,
        target=measurement_pb2.Target(
            address=result.address,
            name=result.name,
            port=result.port,
            url=result.url,
            target_id=result.target_id,
        ),
        protocol=int(result.protocol),  # type: ignore[arg-type]
        outcome=int(result.outcome),  # type: ignore[arg-type]
        task_id=task_id,
        round=round,
        address_family=result.address_family,
        source_address=result.source_address,
        probe_version=probe_version,
    )
    measurement.started_at.FromDatetime(result.started_at)
    measurement.duration.FromTimedelta(timedelta(milliseconds=result.duration_ms))
    if result.probe_load is not None:
        measurement.probe_load.in_flight = result.probe_load.in_flight
        measurement.probe_load.loop_lag_ms = result.probe_load.loop_lag_ms
        measurement.probe_load.SetInParent()
    if result.failure is not None:
        measurement.failure.kind = result.failure.kind
        measurement.failure.operation = int(result.failure.operation)  # type: ignore[assignment]
        measurement.failure.detail = result.failure.detail
    details = result.details
    if isinstance(details, IcmpDetails):
        _fill_icmp(measurement.icmp, details)
    elif isinstance(details, DnsDetails):
        _fill_dns(measurement.dns, details)
    elif isinstance(details, HttpDetails):
        _fill_http(measurement.http, details)
    elif isinstance(details, TcpDetails):
        measurement.tcp.address = details.address
        measurement.tcp.port = details.port
        measurement.tcp.connect_ms = details.connect_ms
        measurement.tcp.connect_rtt_ms = details.connect_rtt_ms
    elif isinstance(details, TracerouteDetails):
        fill_traceroute(measurement.traceroute, details)
    return measurement


def fill_traceroute(out: measurement_pb2.TracerouteDetails, details: TracerouteDetails) -> None:
    out.method = details.method
    out.port = details.port
    out.first_ttl = details.first_ttl
    out.max_ttl = details.max_ttl
    out.probes_per_hop = details.probes_per_hop
    for hop in details.hops:
        hop_out = out.hops.add(ttl=hop.ttl)
        for reply in hop.replies:
            reply_out = hop_out.replies.add(lost=reply.lost)
            if reply.lost:
                continue
            reply_out.from_address = reply.from_address
            reply_out.rtt_ms = reply.rtt_ms
            if reply.icmp_type >= 0:
                reply_out.icmp_type = reply.icmp_type
                reply_out.icmp_code = reply.icmp_code
            reply_out.quoted_ttl = reply.quoted_ttl
            reply_out.reply_ttl = reply.reply_ttl
            for label in reply.mpls:
                reply_out.mpls.add(
                    label=label.label,
                    traffic_class=label.traffic_class,
                    bottom_of_stack=label.bottom_of_stack,
                    ttl=label.ttl,
                )
            reply_out.anomaly = reply.anomaly
            reply_out.tcp_flags = reply.tcp_flags
    out.destination_reached = details.destination_reached
    out.stop_reason = details.stop_reason
    out.anomalies.extend(details.anomalies)
    out.unmatched_replies = details.unmatched_replies
    out.packet_size = details.packet_size
    out.flow_id = details.flow_id
    out.SetInParent()


def _fill_icmp(out: measurement_pb2.IcmpDetails, details: IcmpDetails) -> None:
    out.sent = details.sent
    out.received = details.received
    out.duplicates = details.duplicates
    for reply in details.replies:
        out.replies.add(
            sequence=reply.sequence,
            lost=reply.lost,
            rtt_ms=reply.rtt_ms,
            ttl=reply.ttl,
            duplicate=reply.duplicate,
        )
    out.min_rtt_ms = details.min_rtt_ms
    out.avg_rtt_ms = details.avg_rtt_ms
    out.max_rtt_ms = details.max_rtt_ms
    out.stddev_rtt_ms = details.stddev_rtt_ms
    out.reply_ttl = details.reply_ttl
    out.packet_size = details.packet_size
    out.interval_ms = details.interval_ms
    for error in details.errors:
        out.errors.add(
            type=error.type,
            code=error.code,
            from_address=error.from_address,
            sequence=error.sequence,
            description=error.description,
        )
    if not details.sent:  # make the oneof present even for an all-zero result
        out.SetInParent()


def _fill_dns(out: measurement_pb2.DnsDetails, details: DnsDetails) -> None:
    out.query_name = details.query_name
    out.query_type = details.query_type
    out.server = details.server
    out.server_port = details.server_port
    out.transport = details.transport
    out.rcode = details.rcode
    out.flags.extend(details.flags)
    for answer in details.answers:
        out.answers.add(name=answer.name, type=answer.type, ttl=answer.ttl, data=answer.data)
    out.response_time_ms = details.response_time_ms
    out.response_size = details.response_size
    out.tcp_fallback = details.tcp_fallback
    out.expected.extend(details.expected)
    out.abuf = details.abuf


def _fill_http(out: measurement_pb2.HttpDetails, details: HttpDetails) -> None:
    out.url = details.url
    out.method = details.method
    out.status_code = details.status_code
    timings = details.timings
    out.timings.dns_ms = timings.dns_ms
    out.timings.connect_ms = timings.connect_ms
    out.timings.tls_ms = timings.tls_ms
    out.timings.first_byte_ms = timings.first_byte_ms
    out.timings.total_ms = timings.total_ms
    out.timings.connect_rtt_ms = timings.connect_rtt_ms
    out.timings.tls_socket_ms = timings.tls_socket_ms
    out.timings.first_byte_socket_ms = timings.first_byte_socket_ms
    for name, value in details.headers:
        out.headers[name] = value
    out.body_length = details.body_length
    out.body_sha256 = details.body_sha256
    out.body_truncated = details.body_truncated
    out.title = details.title
    for attempt in details.connect_attempts:
        added = out.connect_attempts.add(
            address=attempt.address,
            started_ms=attempt.started_ms,
            connect_ms=attempt.connect_ms,
            abandoned=attempt.abandoned,
        )
        if attempt.failure is not None:
            added.failure.kind = attempt.failure.kind
            added.failure.operation = int(attempt.failure.operation)  # type: ignore[assignment]
            added.failure.detail = attempt.failure.detail
    for exchange in details.resolve:
        _fill_dns(out.resolve.add(), exchange)
    if details.tls is not None:
        tls = details.tls
        out.tls.version = tls.version
        out.tls.cipher = tls.cipher
        out.tls.cert_subject = tls.cert_subject
        out.tls.cert_issuer = tls.cert_issuer
        if tls.cert_not_after is not None:
            out.tls.cert_not_after.FromDatetime(tls.cert_not_after)
        out.tls.verification_error = tls.verification_error
        out.tls.cert_dns_names.extend(tls.cert_dns_names)
        if tls.cert_not_before is not None:
            out.tls.cert_not_before.FromDatetime(tls.cert_not_before)
        out.tls.cert_sha256 = tls.cert_sha256
        out.tls.SetInParent()
    for redirect in details.redirects:
        out.redirects.add(status_code=redirect.status_code, location=redirect.location)
    out.connected_address = details.connected_address
    out.http_version = details.http_version
    out.header_size = details.header_size
