"""`--format atlas`: every kind RIPE Atlas has, parsed back by ripe.atlas.sagan without error."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import dns.message
import pytest
from ripe.atlas.sagan import DnsResult, HttpResult, PingResult, Result, TracerouteResult

from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.model import (
    DnsAnswer,
    DnsDetails,
    HttpDetails,
    HttpTimings,
    IcmpDetails,
    MeasurementResult,
    MplsLabel,
    PingReply,
    TcpDetails,
    TraceHop,
    TraceReply,
    TracerouteDetails,
)
from vantage.probe.measure.atlas import atlas_result, write_atlas

STARTED = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def result(
    protocol: Protocol, details: object, outcome: Outcome = Outcome.OK, **extra: object
) -> MeasurementResult:
    return MeasurementResult(
        key="0",
        protocol=protocol,
        address="192.0.2.1",
        started_at=STARTED,
        duration_ms=1500.0,
        outcome=outcome,
        details=details,  # type: ignore[arg-type]
        address_family=4,
        source_address="198.51.100.7",
        **extra,  # type: ignore[arg-type]
    )


def parse(doc: dict[str, object], errors_expected: bool = False) -> Result:
    """Parsed by sagan; a malformed document always fails, an error the measurement reports
    (a timeout, an unreachable hop: Atlas's "error"/"err") only when none was expected."""
    on_error = Result.ACTION_IGNORE if errors_expected else Result.ACTION_FAIL
    parsed = Result.get(json.loads(json.dumps(doc)), on_error=on_error, on_malformation=Result.ACTION_FAIL)
    assert not parsed.is_malformed
    return parsed


def test_ping() -> None:
    replies = (PingReply(0, False, 10.5, 57), PingReply(1, True), PingReply(2, False, 12.5, 57))
    details = IcmpDetails(3, 2, 0, replies, (), 10.5, 11.5, 12.5, 1.0, 57, 64, 1000.0)
    parsed = parse(atlas_result(result(Protocol.ICMP, details)))
    assert isinstance(parsed, PingResult)
    assert (parsed.packets_sent, parsed.packets_received, parsed.rtt_min, parsed.rtt_max) == (
        3,
        2,
        10.5,
        12.5,
    )
    assert [p.rtt for p in parsed.packets] == [10.5, None, 12.5]


def test_dns() -> None:
    query = dns.message.make_query("www.example.org", "A")
    answer = dns.message.make_response(query)
    answer.answer.append(dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.80"))
    details = DnsDetails(
        "www.example.org", "A", "192.0.2.53", 53, "udp", rcode="NOERROR",
        answers=(DnsAnswer("www.example.org.", "A", 300, "192.0.2.80"),),
        response_time_ms=4.2, response_size=49, abuf=answer.to_wire(),
    )  # fmt: skip
    parsed = parse(atlas_result(result(Protocol.DNS, details)))
    assert isinstance(parsed, DnsResult)
    assert parsed.responses[0].abuf.answers[0].address == "192.0.2.80"
    timed_out = result(
        Protocol.DNS,
        DnsDetails("www.example.org", "A", "192.0.2.53", 53, "udp"),
        Outcome.FAILURE,
        failure=Failure("generic_timeout_error", Operation.DNS_ROUND_TRIP, "timed out"),
    )
    assert isinstance(parse(atlas_result(timed_out), errors_expected=True), DnsResult)


def test_http() -> None:
    details = HttpDetails(
        "http://www.example.org/", status_code=200, timings=HttpTimings(total_ms=80.0), body_length=1256,
        header_size=180, http_version="1.1", connected_address="192.0.2.80",
    )  # fmt: skip
    parsed = parse(atlas_result(result(Protocol.HTTP, details)))
    assert isinstance(parsed, HttpResult)
    assert parsed.responses[0].code == 200 and parsed.responses[0].body_size == 1256


def test_traceroute_with_mpls_errors_and_lost_probes() -> None:
    hops = (
        TraceHop(1, (TraceReply(False, "198.51.100.1", 0.5, 11, 0, 1, 64),) * 3),
        TraceHop(
            2,
            (
                TraceReply(False, "203.0.113.1", 5.0, 11, 0, 1, 253, (MplsLabel(16004, 0, True, 1),)),
                TraceReply(True),
                TraceReply(False, "203.0.113.1", 5.5, 11, 0, 2, 253),
            ),
        ),
        TraceHop(3, (TraceReply(False, "203.0.113.9", 9.0, 3, 1, 1, 60),) + (TraceReply(True),) * 2),
    )
    details = TracerouteDetails(
        "udp", 33434, 1, 30, 3, hops, False, "unreachable", packet_size=38, flow_id=40001
    )
    doc = atlas_result(
        result(
            Protocol.TRACEROUTE, details, Outcome.FAILURE,
            failure=Failure("host_unreachable", Operation.TRACE, "unreachable"),
        )
    )  # fmt: skip
    parsed = parse(doc, errors_expected=True)  # hop 3's !H
    assert isinstance(parsed, TracerouteResult)
    assert parsed.total_hops == 3 and parsed.protocol == "UDP" and not parsed.destination_ip_responded
    assert parsed.hops[1].packets[0].icmp_header.objects[0]["mpls"][0]["label"] == 16004  # type: ignore[union-attr]
    assert parsed.hops[1].packets[2].internal_ttl == 2
    assert doc["result"][2]["result"][0]["err"] == "H"  # type: ignore[index]
    assert parsed.hops[2].packets[0].destination_option_size is None


def test_a_refused_trace_is_still_a_result() -> None:
    refused = result(
        Protocol.TRACEROUTE, None, Outcome.REFUSED_BY_POLICY,
        failure=Failure("refused_by_policy", Operation.POLICY, "192.0.2.1 is in 192.0.2.0/24"),
    )  # fmt: skip
    assert isinstance(parse(atlas_result(refused), errors_expected=True), TracerouteResult)


def test_tcp_has_no_atlas_form_and_lines_are_json() -> None:
    with pytest.raises(ValueError, match="no tcp result type"):
        atlas_result(result(Protocol.TCP, TcpDetails("192.0.2.1", 80, 1.0)))
    stream = io.StringIO()
    details = IcmpDetails(1, 1, 0, (PingReply(0, False, 1.0, 64),), (), 1.0, 1.0, 1.0, 0.0, 64, 64, 1000.0)
    write_atlas([result(Protocol.ICMP, details)] * 2, stream)
    assert [json.loads(line)["type"] for line in stream.getvalue().splitlines()] == ["ping", "ping"]
