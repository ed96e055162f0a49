"""The hand-written ICMP and DNS JSON of `measure --json` equals protobuf's JSON mapping, field for field."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from google.protobuf.json_format import MessageToDict

from vantage import __version__, failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.convert import result_to_proto
from vantage.probe.engine.icmp.packets import EchoError
from vantage.probe.engine.icmp.session import PingSweep
from vantage.probe.engine.model import IcmpDetails, IcmpErrorReport, IcmpOptions, MeasurementResult, PingReply
from vantage.probe.measure.json_lines import icmp_line, measurement_document, new_ids, write_json

MS = 1_000_000
AT = datetime(2026, 11, 29, 1, 2, 3, 456000, tzinfo=UTC)


def _result(details: IcmpDetails, **overrides: object) -> MeasurementResult:
    fields: dict[str, object] = {
        "key": "0",
        "protocol": Protocol.ICMP,
        "address": "198.18.0.1",
        "started_at": AT,
        "duration_ms": 0.123456,
        "outcome": Outcome.OK,
        "details": details,
        "address_family": 4,
    }
    fields.update(overrides)
    return MeasurementResult(**fields)  # type: ignore[arg-type]


def _details(**overrides: object) -> IcmpDetails:
    fields: dict[str, object] = {
        "sent": 1, "received": 1, "duplicates": 0, "replies": (PingReply(0, False, 0.1 + 0.2, 64),),
        "errors": (), "min_rtt_ms": 0.1 + 0.2, "avg_rtt_ms": 0.1 + 0.2, "max_rtt_ms": 0.1 + 0.2,
        "stddev_rtt_ms": 0.0, "reply_ttl": 64, "packet_size": 56, "interval_ms": 1000.0,
    }  # fmt: skip
    fields.update(overrides)
    return IcmpDetails(**fields)  # type: ignore[arg-type]


def _swept() -> list[MeasurementResult]:
    """Results as a real sweep books them: a reply, a duplicate, a loss, an error."""
    options = IcmpOptions(count=2, interval_ms=10, timeout_ms=100)
    sweep = PingSweep(["198.18.0.1", "198.18.3.1"], [options, options], 4)
    sweep.sent([0, 1], 1_764_000_000_000_000_000)
    sweep.on_reply(0, 63, 1_764_000_000_000_123_457, 1_764_000_000_000_000_000)
    sweep.on_reply(0, 63, 1_764_000_000_000_223_457, 1_764_000_000_000_000_000)
    sweep.on_error(EchoError(3, 13, "198.18.3.1", 1, 1), "198.18.3.1")
    sweep.sent([2, 3], 1_764_000_000_010_000_000)
    sweep.expire(1_764_000_000_200_000_000)
    results = []
    for target in (0, 1):
        outcome, failure, details = sweep.result(target)
        results.append(_result(details, outcome=outcome, failure=failure, address=sweep.addresses[target]))
    return results


SAMPLES = [
    pytest.param(_result(_details()), id="one reply"),
    # The one-reply fast path (issue 18) against each field it leaves out of its template.
    pytest.param(_result(_details(interval_ms=0.0)), id="one reply, interval 0"),
    pytest.param(_result(_details(), source_address="198.19.0.1"), id="one reply with a source"),
    pytest.param(_result(_details(), target_id="t-1", port=7), id="one reply with a target id"),
    pytest.param(_result(_details(replies=(PingReply(1, False, 0.3, 64),))), id="one reply, sequence 1"),
    pytest.param(
        _result(_details(reply_ttl=0, replies=(PingReply(0, False, 0.3, 0),))), id="one reply, ttl 0"
    ),
    pytest.param(_result(_details(), duration_ms=0.0), id="one reply, no duration"),
    pytest.param(_result(_details(), outcome=Outcome.MISMATCH), id="one reply, not ok"),
    pytest.param(
        _result(_details(), started_at=AT.replace(microsecond=0), duration_ms=1000.0), id="whole seconds"
    ),
    pytest.param(
        _result(_details(), started_at=AT.replace(microsecond=123456), duration_ms=2.5), id="microseconds"
    ),
    pytest.param(
        _result(
            _details(
                sent=3,
                received=2,
                duplicates=2,
                min_rtt_ms=0.25,
                avg_rtt_ms=0.375,
                max_rtt_ms=0.5,
                stddev_rtt_ms=0.125,
                replies=(
                    PingReply(0, False, 0.25, 64),
                    PingReply(1, True),
                    PingReply(2, False, 0.5, 64, True),
                ),
            )
        ),
        id="loss and duplicates",
    ),
    pytest.param(
        _result(
            _details(
                sent=0,
                received=0,
                replies=(PingReply(0, True),),
                min_rtt_ms=0.0,
                avg_rtt_ms=0.0,
                max_rtt_ms=0.0,
                reply_ttl=0,
            ),
            outcome=Outcome.FAILURE,
            failure=Failure(
                failures.NETWORK_UNREACHABLE, Operation.ICMP_ECHO, "OSError: [Errno 101] unreachable"
            ),
        ),
        id="send failed",
    ),
    pytest.param(
        _result(
            _details(
                received=0,
                replies=(PingReply(0, True),),
                min_rtt_ms=0.0,
                avg_rtt_ms=0.0,
                max_rtt_ms=0.0,
                reply_ttl=0,
                errors=(IcmpErrorReport(1, 1, "fd00::1", 0, "destination unreachable"),),
            ),
            address="fd00:0:0:2::dead",
            address_family=6,
            name="v6.lab.test",
            outcome=Outcome.FAILURE,
            failure=Failure(failures.ADMINISTRATIVELY_PROHIBITED, Operation.ICMP_ECHO, "prohibited"),
        ),
        id="ipv6 error with a name",
    ),
    *(pytest.param(result, id=f"swept {i}") for i, result in enumerate(_swept())),
]


@pytest.mark.parametrize("result", SAMPLES)
def test_icmp_documents_equal_protobufs_json_mapping(result: MeasurementResult) -> None:
    proto = result_to_proto(result, probe_id="", measurement_id="m-1", probe_version=__version__)
    assert measurement_document(result, "m-1") == MessageToDict(proto, preserving_proto_field_name=True)


@pytest.mark.parametrize("result", SAMPLES)
def test_icmp_lines_equal_json_dumps_of_protobufs_json_mapping(result: MeasurementResult) -> None:
    proto = result_to_proto(result, probe_id="", measurement_id="m-1", probe_version=__version__)
    expected = json.dumps(MessageToDict(proto, preserving_proto_field_name=True), sort_keys=True)
    assert icmp_line(result, "m-1") == expected


def test_ids_are_version_4_uuids() -> None:
    ids = new_ids(50)
    assert len(set(ids)) == 50
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_lines_are_sorted_json_with_fresh_ids() -> None:
    stream = io.StringIO()
    write_json([_result(_details()), _result(_details())], stream)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["id"] != second["id"] and first["icmp"]["reply_ttl"] == 64
    assert stream.getvalue().splitlines()[0] == json.dumps(first, sort_keys=True)


def _dns_samples() -> list[MeasurementResult]:
    """DNS results as the driver makes them: answers interpreted by the engine's own step."""
    import dns.message
    import dns.rcode
    import dns.rrset

    from vantage.probe.engine.dns import step as dns_step
    from vantage.probe.engine.model import DnsOptions, ProbeLoad

    samples = []
    for rcode, records, expected, load in (
        (dns.rcode.NOERROR, ["198.18.0.80"], (), ProbeLoad(1, 0.0)),
        (dns.rcode.NOERROR, ["198.18.0.80", "198.18.0.81"], ("198.18.0.80",), ProbeLoad(32, 7.25)),
        (dns.rcode.NXDOMAIN, [], (), None),
        (dns.rcode.NOERROR, [], (), ProbeLoad(0, 0.0)),
    ):
        options = DnsOptions(query_name="www.lab.test", query_type="A", expected=expected)
        response = dns.message.make_response(dns.message.from_wire(dns_step.build_query(options, 9)))
        response.set_rcode(rcode)
        for data in records:
            response.answer.append(
                dns.rrset.from_text("www.lab.test.", 0 if expected else 60, "IN", "A", data)
            )
        exchange = dns_step.Exchange(
            "198.18.0.53", 53, "udp", response.to_wire(), 0.25, tcp_fallback=bool(expected)
        )
        outcome, failure, details = dns_step.interpret(options, exchange)
        samples.append(
            MeasurementResult(
                key="0", protocol=Protocol.DNS, address="198.18.0.53", started_at=AT, duration_ms=1.5,
                outcome=outcome, failure=failure, details=details, name="www.lab.test", port=53,
                address_family=4, source_address="198.19.0.1" if load else "", probe_load=load,
            )
        )  # fmt: skip
    options = DnsOptions(query_name="x.lab.test")
    timed_out = dns_step.base_details(options, "fd00::53", "udp")
    samples.append(
        MeasurementResult(
            key="1", protocol=Protocol.DNS, address="fd00::53", started_at=AT.replace(microsecond=0),
            duration_ms=5000.0, outcome=Outcome.FAILURE, details=timed_out, address_family=6,
            failure=Failure(failures.GENERIC_TIMEOUT, Operation.DNS_ROUND_TRIP, "TimeoutError: "),
        )
    )  # fmt: skip
    return samples


@pytest.mark.parametrize("result", _dns_samples())
def test_dns_documents_equal_protobufs_json_mapping(result: MeasurementResult) -> None:
    # Issue 18: DNS JSON without protobuf's slow path, the same documents.
    proto = result_to_proto(result, probe_id="", measurement_id="m-1", probe_version=__version__)
    assert measurement_document(result, "m-1") == MessageToDict(proto, preserving_proto_field_name=True)


def _dns_line_samples() -> list[MeasurementResult]:
    from dataclasses import replace
    from datetime import timedelta, timezone

    samples = _dns_samples()
    odd = replace(
        samples[2],
        failure=Failure(failures.DNS_NXDOMAIN, Operation.DNS_ROUND_TRIP, 'NX "\u00e9\\ \u2603'),
        started_at=datetime(2026, 11, 29, 3, 2, 3, 7, tzinfo=timezone(timedelta(hours=2))),
        duration_ms=0.0004,
        target_id="t-7",
    )
    return [*samples, odd]


@pytest.mark.parametrize("result", _dns_line_samples())
def test_dns_lines_equal_json_dumps_of_protobufs_json_mapping(result: MeasurementResult) -> None:
    # The DNS line is written directly (json_lines.dns_line), as protobuf's mapping dumps.
    from vantage.probe.measure.json_lines import dns_document, dns_line

    proto = result_to_proto(result, probe_id="", measurement_id="m-1", probe_version=__version__)
    expected = json.dumps(MessageToDict(proto, preserving_proto_field_name=True), sort_keys=True)
    assert dns_line(result, "m-1") == expected
    assert dns_line(result, "m-1") == json.dumps(dns_document(result, "m-1"), sort_keys=True)


def test_ids_keep_the_random_bits_and_set_version_and_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import random

    blob = random.Random(7).randbytes(16 * 40) + bytes(16) + b"\xff" * 16
    monkeypatch.setattr(os, "urandom", lambda n: blob[:n])
    # uuid.UUID(version=4) sets the same bits the same way (RFC 4122 §4.4).
    expected = [str(uuid.UUID(bytes=blob[i : i + 16], version=4)) for i in range(0, len(blob), 16)]
    assert new_ids(42) == expected


def test_durations_from_milliseconds_as_timedelta_rounds_them() -> None:
    import random
    from datetime import timedelta

    from vantage.probe.measure.json_lines import _duration, _duration_of_ms

    rng = random.Random(3)
    values = [0.0, 0.0005, 0.0015, 0.0025, 1.0005, 2.5e-4, 999.9995, 1000.0, 1e6 + 0.0005, 86_400_000.0]
    values += [rng.uniform(0, 2000) for _ in range(5000)] + [rng.randrange(10**7) / 8000 for _ in range(5000)]
    values += [n / 2000 for n in range(4000)]  # every half microsecond up to 2 ms
    for ms in values:
        assert _duration_of_ms(ms) == _duration(timedelta(milliseconds=ms)), ms
    assert _duration_of_ms(3) == "0.003s" and _duration_of_ms(-1.5) == _duration(timedelta(milliseconds=-1.5))
