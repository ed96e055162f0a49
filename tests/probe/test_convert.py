"""Task -> request and result -> Measurement, against the generated vantage.v1 classes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.json_format import MessageToDict

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.convert import result_to_proto
from vantage.probe.daemon.plan import request_from_task
from vantage.probe.daemon.wire import planned_task
from vantage.probe.engine.model import (
    DnsAnswer,
    DnsDetails,
    DnsOptions,
    HttpDetails,
    HttpOptions,
    HttpTimings,
    IcmpDetails,
    IcmpErrorReport,
    IcmpOptions,
    MeasurementRequest,
    MeasurementResult,
    PingReply,
    TcpOptions,
    TlsInfo,
)
from vantage.v1 import measurement_pb2, probe_service_pb2

P = measurement_pb2


def _task(protocol: int, **target_and_options: object) -> probe_service_pb2.Task:
    target = {
        k: v for k, v in target_and_options.items() if k in ("address", "name", "port", "url", "target_id")
    }
    options = {k: v for k, v in target_and_options.items() if k not in target}
    return probe_service_pb2.Task(
        id="t1",
        protocol=protocol,
        target=P.Target(**target),
        options=probe_service_pb2.TaskOptions(**options),
    )


def _request(task: probe_service_pb2.Task) -> MeasurementRequest:
    """The request for a task as the daemon receives it (converted at its wire edge)."""
    return request_from_task(planned_task(task))


def test_icmp_task_defaults_and_values() -> None:
    request = _request(_task(P.PROTOCOL_ICMP, address="198.51.100.7", target_id="tg"))
    assert request.key == "t1" and request.target_id == "tg" and request.protocol is Protocol.ICMP
    assert request.options == IcmpOptions()
    request = _request(
        _task(P.PROTOCOL_ICMP, address="2001:db8::1", count=5, interval_ms=200, timeout_ms=300)
    )
    assert request.options == IcmpOptions(count=5, interval_ms=200.0, timeout_ms=300.0)


def test_dns_task_defaults_to_root_soa() -> None:
    request = _request(_task(P.PROTOCOL_DNS, address="192.0.2.53"))
    assert isinstance(request.options, DnsOptions)
    assert (request.options.query_name, request.options.query_type, request.options.port) == (".", "SOA", 53)
    request = _request(
        _task(
            P.PROTOCOL_DNS,
            address="192.0.2.53",
            port=5353,
            query_name="x.test",
            query_type="a",
            expected=["192.0.2.9"],
        )
    )
    assert request.options == DnsOptions(
        query_name="x.test", query_type="A", port=5353, expected=("192.0.2.9",)
    )


def test_http_and_tcp_tasks() -> None:
    request = _request(_task(P.PROTOCOL_HTTP, address="192.0.2.80", url="https://www.example.test/"))
    assert request.options == HttpOptions(url="https://www.example.test/")
    request = _request(_task(P.PROTOCOL_HTTP, url="http://www.example.test/"))
    assert request.address == ""
    request = _request(_task(P.PROTOCOL_TCP, address="192.0.2.80", port=443))
    assert request.options == TcpOptions(port=443)


@pytest.mark.parametrize(
    "task",
    [
        _task(P.PROTOCOL_ICMP, address="not-an-ip"),
        _task(P.PROTOCOL_ICMP),
        _task(P.PROTOCOL_TCP, address="192.0.2.1"),
        _task(P.PROTOCOL_HTTP, address="192.0.2.1"),
        _task(P.PROTOCOL_HTTP, url="gopher://x.test/"),
        _task(P.PROTOCOL_DNS, address="192.0.2.53", query_type="NOPE"),
        _task(P.PROTOCOL_UNSPECIFIED, address="192.0.2.1"),
        probe_service_pb2.Task(protocol=P.PROTOCOL_ICMP, target=P.Target(address="192.0.2.1")),
    ],
)
def test_unrunnable_tasks_raise_value_error(task: probe_service_pb2.Task) -> None:
    with pytest.raises(ValueError):
        _request(task)


STARTED = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def test_icmp_result_to_proto() -> None:
    details = IcmpDetails(
        sent=2,
        received=1,
        duplicates=1,
        replies=(PingReply(0, False, 12.5, 57), PingReply(1, True)),
        errors=(IcmpErrorReport(3, 13, "198.51.100.1", 1, "destination unreachable: x"),),
        min_rtt_ms=12.5,
        avg_rtt_ms=12.5,
        max_rtt_ms=12.5,
        stddev_rtt_ms=0.0,
        reply_ttl=57,
        packet_size=56,
        interval_ms=1000.0,
    )
    result = MeasurementResult(
        "k", Protocol.ICMP, "198.51.100.7", STARTED, 1500.0, Outcome.OK, details=details, address_family=4
    )
    pb = result_to_proto(
        result, probe_id="p1", measurement_id="m1", round=42, task_id="k", probe_version="0.1.0"
    )
    assert pb.WhichOneof("details") == "icmp"
    assert (pb.round, pb.task_id, pb.probe_id, pb.id) == (42, "k", "p1", "m1")
    assert pb.started_at.ToDatetime(tzinfo=UTC) == STARTED
    assert pb.duration.ToMilliseconds() == 1500
    assert pb.icmp.replies[1].lost and pb.icmp.errors[0].code == 13
    doc = MessageToDict(pb, preserving_proto_field_name=True)
    assert doc["outcome"] == "OUTCOME_OK" and doc["icmp"]["reply_ttl"] == 57


def test_failure_dns_and_http_results_to_proto() -> None:
    dns_result = MeasurementResult(
        "k",
        Protocol.DNS,
        "192.0.2.53",
        STARTED,
        3.0,
        Outcome.FAILURE,
        failure=Failure(failures.DNS_NXDOMAIN, Operation.DNS_ROUND_TRIP, "NXDOMAIN"),
        details=DnsDetails(
            "x.test",
            "A",
            "192.0.2.53",
            53,
            "udp",
            rcode="NXDOMAIN",
            flags=("qr",),
            answers=(DnsAnswer("x.test.", "A", 5, "192.0.2.1"),),
        ),
    )
    pb = result_to_proto(dns_result, probe_id="p", measurement_id="m")
    assert pb.failure.kind == "dns_nxdomain_error" and pb.failure.operation == P.OPERATION_DNS_ROUND_TRIP
    assert pb.dns.answers[0].ttl == 5 and list(pb.dns.flags) == ["qr"]
    http_result = MeasurementResult(
        "k",
        Protocol.HTTP,
        "192.0.2.80",
        STARTED,
        30.0,
        Outcome.OK,
        details=HttpDetails(
            "https://www.example.test/",
            status_code=404,
            timings=HttpTimings(1, 2, 3, 4, 30),
            headers=(("server", "lab"),),
            tls=TlsInfo(version="TLSv1.3", cert_not_after=STARTED),
        ),
        url="https://www.example.test/",
    )
    pb = result_to_proto(http_result, probe_id="p", measurement_id="m")
    assert pb.http.status_code == 404 and pb.http.headers["server"] == "lab"
    assert pb.http.tls.version == "TLSv1.3" and pb.http.timings.tls_ms == 3
    assert pb.http.tls.cert_not_after.ToDatetime(tzinfo=UTC) == STARTED
