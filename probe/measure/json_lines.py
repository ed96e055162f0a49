"""`vantage probe measure --json`: one vantage.v1.Measurement per line, in protobuf's JSON mapping.

ICMP documents are written by hand: result_to_proto + json_format.MessageToDict + json.dumps
cost ≈ 100 µs a measurement on this machine (the JSON walk runs in Python over descriptors),
seconds for a /16 sweep. They are the same documents json_format makes, printed as json.dumps
(sort_keys=True) prints them (tests/probe/measure/test_json.py compares both on a sample):
proto3 leaves out fields holding their default value, enums are their names, int64 a string,
Timestamp and Duration the RFC 3339 and "1.5s" strings with 0, 3, 6 or 9 fraction digits.
DNS and HTTP documents are built as dicts (dns_document, http_document) that json.dumps writes
in C; TCP still goes through protobuf.
"""

from __future__ import annotations

import base64
import calendar
import functools
import json
import math
import os
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, TextIO

from vantage import __version__
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.model import ConnectAttempt, DnsDetails, HttpDetails, IcmpDetails, MeasurementResult

_EPOCH = datetime(1970, 1, 1)
_string = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii)


def write_json(results: list[MeasurementResult], stream: TextIO) -> None:
    ids = new_ids(len(results))
    lines = [
        icmp_line(result, measurement_id)
        if isinstance(result.details, IcmpDetails)
        else dns_line(result, measurement_id)
        if isinstance(result.details, DnsDetails)
        else json.dumps(measurement_document(result, measurement_id), sort_keys=True)
        for result, measurement_id in zip(results, ids, strict=True)
    ]
    stream.write("\n".join(lines) + "\n")


def dns_document(result: MeasurementResult, measurement_id: str) -> dict[str, Any]:
    """MessageToDict(result_to_proto(result)) for a DNS result, built directly.

    protobuf's JSON walk (≈ half the CPU of a DNS query with --json, issue 18) is replaced by
    a dict json.dumps writes in C; the same proto3 rules as icmp_line (defaults left out, enums
    by name, bytes in base64), compared with protobuf's own on samples in
    tests/probe/measure/test_json.py.
    """
    details = result.details
    assert isinstance(details, DnsDetails)
    document = _common_document(result, measurement_id)
    document["dns"] = _dns_fields(details)
    return document


def dns_line(result: MeasurementResult, measurement_id: str) -> str:
    """json.dumps(dns_document(result, measurement_id), sort_keys=True), written directly as
    icmp_line is: building the dicts and dumping them cost ≈ 60 µs of a DNS query's ≈ 250 µs
    with --json here (issue 18). The keys below are in sorted order; a field is left out when
    dns_document leaves it out (tests/probe/measure/test_json.py compares both, and protobuf's)."""
    details = result.details
    assert isinstance(details, DnsDetails)
    parts = [f'"address_family": {result.address_family}'] if result.address_family else []
    parts.append(f'"dns": {_dns_json(details)}')
    parts.append(f'"duration": "{_duration_of_ms(result.duration_ms)}"')
    failure = result.failure
    if failure is not None:
        operation = _OPERATIONS.get(failure.operation, "") if failure.operation else ""
        fields = {"detail": failure.detail, "kind": failure.kind, "operation": operation}
        parts.append(f'"failure": {_object(_non_default(fields))}')
    if measurement_id:
        parts.append(f'"id": {_string(measurement_id)}')
    if result.outcome:
        parts.append(f'"outcome": "{_OUTCOMES[result.outcome]}"')
    load = result.probe_load
    if load is not None:
        loop_lag_ms = float(load.loop_lag_ms)
        load_fields = {"in_flight": load.in_flight, "loop_lag_ms": loop_lag_ms}
        parts.append(f'"probe_load": {_object(_non_default(load_fields))}')
    parts.append(f'"probe_version": {_VERSION}')
    if result.protocol:
        parts.append(f'"protocol": "{_PROTOCOLS[result.protocol]}"')
    if result.source_address:
        parts.append(f'"source_address": {_string(result.source_address)}')
    parts.append(f'"started_at": "{_timestamp(result.started_at)}"')
    target = {
        "address": result.address,
        "name": result.name,
        "port": result.port,
        "target_id": result.target_id,
        "url": result.url,
    }
    parts.append(f'"target": {_object(_non_default(target))}')
    return "{" + ", ".join(parts) + "}"


def _dns_json(details: DnsDetails) -> str:
    """_dns_fields(details) as json.dumps(sort_keys=True) writes it."""
    parts = []
    if details.abuf:
        parts.append(f'"abuf": "{base64.b64encode(details.abuf).decode("ascii")}"')  # nothing to escape
    if details.answers:
        answers = ", ".join(
            _object(_non_default({"data": a.data, "name": a.name, "ttl": a.ttl, "type": a.type}))
            for a in details.answers
        )
        parts.append(f'"answers": [{answers}]')
    if details.expected:
        parts.append(f'"expected": [{", ".join(map(_string, details.expected))}]')
    if details.flags:
        parts.append(f'"flags": [{", ".join(map(_string, details.flags))}]')
    fields = {
        "query_name": details.query_name,
        "query_type": details.query_type,
        "rcode": details.rcode,
        "response_size": details.response_size,
        "response_time_ms": float(details.response_time_ms),
        "server": details.server,
        "server_port": details.server_port,
        "tcp_fallback": details.tcp_fallback,
        "transport": details.transport,
    }
    parts.extend(f'"{name}": {_value(value)}' for name, value in fields.items() if value)
    return "{" + ", ".join(parts) + "}"


def _dns_fields(details: DnsDetails) -> dict[str, Any]:
    """A DnsDetails message in the JSON mapping (a DNS result's own, or an HTTP hop's resolve)."""
    return _non_default(
        {
            "query_name": details.query_name,
            "query_type": details.query_type,
            "server": details.server,
            "server_port": details.server_port,
            "transport": details.transport,
            "rcode": details.rcode,
            "flags": list(details.flags),
            "answers": [
                _non_default({"name": a.name, "type": a.type, "ttl": a.ttl, "data": a.data})
                for a in details.answers
            ],
            "response_time_ms": float(details.response_time_ms),
            "response_size": details.response_size,
            "tcp_fallback": details.tcp_fallback,
            "expected": list(details.expected),
            "abuf": base64.b64encode(details.abuf).decode("ascii"),
        }
    )


def http_document(result: MeasurementResult, measurement_id: str) -> dict[str, Any]:
    """MessageToDict(result_to_proto(result)) for an HTTP result, built directly as dns_document
    is (compared with protobuf's own in tests/probe/measure/test_json.py): the JSON walk over
    descriptors and the proto conversion cost more CPU than the rest of a plain HTTP request's
    Python here (issue 18). uint64 (body_length) is a string; a submessage the conversion always
    touches (timings, tls when there is one) is present even when empty."""
    details = result.details
    assert isinstance(details, HttpDetails)
    timings = details.timings
    fields: dict[str, Any] = _non_default(
        {
            "url": details.url,
            "method": details.method,
            "status_code": details.status_code,
            "headers": dict(details.headers),
            "body_length": str(details.body_length) if details.body_length else "",
            "body_sha256": details.body_sha256,
            "body_truncated": details.body_truncated,
            "title": details.title,
            "redirects": [
                _non_default({"status_code": r.status_code, "location": r.location})
                for r in details.redirects
            ],
            "connected_address": details.connected_address,
            "http_version": details.http_version,
            "header_size": details.header_size,
            "connect_attempts": [_attempt_fields(attempt) for attempt in details.connect_attempts],
            "resolve": [_dns_fields(exchange) for exchange in details.resolve],
        }
    )
    fields["timings"] = _non_default(
        {
            "dns_ms": float(timings.dns_ms),
            "connect_ms": float(timings.connect_ms),
            "tls_ms": float(timings.tls_ms),
            "first_byte_ms": float(timings.first_byte_ms),
            "total_ms": float(timings.total_ms),
            "connect_rtt_ms": float(timings.connect_rtt_ms),
            "tls_socket_ms": float(timings.tls_socket_ms),
            "first_byte_socket_ms": float(timings.first_byte_socket_ms),
        }
    )
    tls = details.tls
    if tls is not None:
        fields["tls"] = _non_default(
            {
                "version": tls.version,
                "cipher": tls.cipher,
                "cert_subject": tls.cert_subject,
                "cert_issuer": tls.cert_issuer,
                "cert_not_after": _timestamp(tls.cert_not_after) if tls.cert_not_after else "",
                "verification_error": tls.verification_error,
                "cert_dns_names": list(tls.cert_dns_names),
                "cert_not_before": _timestamp(tls.cert_not_before) if tls.cert_not_before else "",
                "cert_sha256": tls.cert_sha256,
            }
        )
    document = _common_document(result, measurement_id)
    document["http"] = fields
    return document


def _attempt_fields(attempt: ConnectAttempt) -> dict[str, Any]:
    fields = _non_default(
        {
            "address": attempt.address,
            "started_ms": float(attempt.started_ms),
            "connect_ms": float(attempt.connect_ms),
            "abandoned": attempt.abandoned,
        }
    )
    if attempt.failure is not None:
        fields["failure"] = _failure_fields(attempt.failure)
    return fields


def _failure_fields(failure: Failure) -> dict[str, Any]:
    return _non_default(
        {
            "kind": failure.kind,
            "operation": _OPERATIONS.get(failure.operation, "") if failure.operation else "",
            "detail": failure.detail,
        }
    )


def _common_document(result: MeasurementResult, measurement_id: str) -> dict[str, Any]:
    """The Measurement fields every protocol has, as MessageToDict gives them."""
    document: dict[str, Any] = _non_default(
        {
            "id": measurement_id,
            "address_family": result.address_family,
            "source_address": result.source_address,
            "probe_version": __version__,
            "protocol": _PROTOCOLS[result.protocol] if result.protocol else "",
            "outcome": _OUTCOMES[result.outcome] if result.outcome else "",
        }
    )
    document["target"] = _non_default(
        {
            "address": result.address,
            "name": result.name,
            "port": result.port,
            "target_id": result.target_id,
            "url": result.url,
        }
    )
    document["started_at"] = _timestamp(result.started_at)
    document["duration"] = _duration(timedelta(milliseconds=result.duration_ms))
    if result.probe_load is not None:
        document["probe_load"] = _non_default(
            {"in_flight": result.probe_load.in_flight, "loop_lag_ms": float(result.probe_load.loop_lag_ms)}
        )
    if result.failure is not None:
        document["failure"] = _failure_fields(result.failure)
    return document


def new_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs: one read of the kernel's randomness, not one per id.

    The hex text of all of them is made at once and cut into ids: the version nibble written
    as "4", the variant's top two bits as 10 (the RFC 4122 variant: 8, 9, a or b), the
    other 122 bits as read.
    """
    h = os.urandom(16 * count).hex()
    variant = _VARIANT
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-{variant[h[i + 16]]}{h[i + 17 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


# A hex digit with its top two bits set to 10 (the RFC 4122 variant).
_VARIANT = {f"{n:x}": f"{0b1000 | (n & 0b0011):x}" for n in range(16)}


def icmp_line(result: MeasurementResult, measurement_id: str) -> str:
    """json.dumps(measurement_document(result), sort_keys=True), written directly.

    The keys below are in sorted order; strings go through the json module's own escaping and
    floats through repr, as json.dumps does. ≈ 5x cheaper than building and dumping the dict.
    """
    details = result.details
    assert isinstance(details, IcmpDetails)
    line = _one_reply_line(result, details, measurement_id)
    if line is not None:
        return line
    parts = []
    if result.address_family:
        parts.append(f'"address_family": {result.address_family}')
    parts.append(f'"duration": "{_duration_of_ms(result.duration_ms)}"')
    failure = result.failure
    if failure is not None:
        fields = []
        if failure.detail:
            fields.append(f'"detail": {_string(failure.detail)}')
        if failure.kind:
            fields.append(f'"kind": {_string(failure.kind)}')
        operation = _OPERATIONS.get(failure.operation)
        if failure.operation and operation:
            fields.append(f'"operation": "{operation}"')
        parts.append(f'"failure": {{{", ".join(fields)}}}')
    parts.append(f'"icmp": {_icmp_json(details)}')
    parts.append(f'"id": {_string(measurement_id)}')
    if result.outcome:
        parts.append(f'"outcome": "{_OUTCOMES[result.outcome]}"')
    parts.append(f'"probe_version": {_string(__version__)}')
    parts.append(f'"protocol": "{_PROTOCOLS[result.protocol]}"')
    if result.source_address:
        parts.append(f'"source_address": {_string(result.source_address)}')
    parts.append(f'"started_at": "{_timestamp(result.started_at)}"')
    target = _non_default(
        {
            "address": result.address,
            "name": result.name,
            "port": result.port,
            "target_id": result.target_id,
            "url": result.url,
        }
    )
    parts.append(f'"target": {_object(target)}')
    return "{" + ", ".join(parts) + "}"


def _one_reply_line(result: MeasurementResult, details: IcmpDetails, measurement_id: str) -> str | None:
    """A sweep's common line (one echo, one reply, nothing else) as one f-string, or None.

    The general writer below walks field tables per line (≈ 15-40 µs, the larger part of a
    --json sweep's cost against the table's ≈ 2 µs, issue 18). Every field left out of the
    template is checked here to be one the general writer leaves out too (a proto3 default),
    so both give the same line (tests/probe/measure/test_json.py compares them with protobuf's).
    """
    if (
        result.failure is not None
        or result.outcome is not _OK
        or details.sent != 1
        or details.received != 1
        or details.duplicates
        or details.errors
        or details.stddev_rtt_ms
        or not (details.interval_ms and details.packet_size and details.reply_ttl and result.address_family)
        or result.source_address
        or result.name
        or result.port
        or result.target_id
        or result.url
        or not result.address
        or len(details.replies) != 1
    ):
        return None
    reply = details.replies[0]
    if reply.lost or reply.duplicate or reply.sequence or not reply.ttl or not reply.rtt_ms:
        return None
    if not (details.avg_rtt_ms and details.min_rtt_ms and details.max_rtt_ms):
        return None
    # Shortest round-trip float text costs more than anything else on the line: one reply's
    # rtt is its avg, min and max too, so it is written once.
    rtt = float.__repr__(float(reply.rtt_ms))
    if details.avg_rtt_ms == details.min_rtt_ms == details.max_rtt_ms == reply.rtt_ms:
        avg = low = high = rtt
    else:
        avg, low = float.__repr__(float(details.avg_rtt_ms)), float.__repr__(float(details.min_rtt_ms))
        high = float.__repr__(float(details.max_rtt_ms))
    return (
        f'{{"address_family": {result.address_family}, '
        f'"duration": "{_duration_of_ms(result.duration_ms)}", '
        f'"icmp": {{"avg_rtt_ms": {avg}, "interval_ms": {_float_text(details.interval_ms)}, '
        f'"max_rtt_ms": {high}, "min_rtt_ms": {low}, "packet_size": {details.packet_size}, '
        f'"received": 1, "replies": [{{"rtt_ms": {rtt}, "ttl": {reply.ttl}}}], '
        f'"reply_ttl": {details.reply_ttl}, "sent": 1}}, "id": {_string(measurement_id)}, '
        f'"outcome": "{_OK_NAME}", "probe_version": {_VERSION}, "protocol": "{_ICMP_NAME}", '
        f'"started_at": "{_timestamp(result.started_at)}", '
        f'"target": {{"address": {_string(result.address)}}}}}'
    )


@functools.lru_cache(maxsize=64)  # a sweep's interval: one value for every line
def _float_text(value: float) -> str:
    return float.__repr__(float(value))


def _icmp_json(details: IcmpDetails) -> str:
    fields = {
        "avg_rtt_ms": float(details.avg_rtt_ms),  # a double, even if given an int
        "duplicates": details.duplicates,
        "errors": None,
        "interval_ms": float(details.interval_ms),
        "max_rtt_ms": float(details.max_rtt_ms),
        "min_rtt_ms": float(details.min_rtt_ms),
        "packet_size": details.packet_size,
        "received": details.received,
        "replies": None,
        "reply_ttl": details.reply_ttl,
        "sent": details.sent,
        "stddev_rtt_ms": float(details.stddev_rtt_ms),
    }
    parts = []
    for name, value in fields.items():
        if name == "errors":
            if details.errors:
                errors = [
                    _object(
                        _non_default(
                            {
                                "code": e.code,
                                "description": e.description,
                                "from_address": e.from_address,
                                "sequence": e.sequence,
                                "type": e.type,
                            }
                        )
                    )
                    for e in details.errors
                ]
                parts.append(f'"errors": [{", ".join(errors)}]')
        elif name == "replies":
            if details.replies:
                replies = [
                    _object(
                        _non_default(
                            {
                                "duplicate": r.duplicate,
                                "lost": r.lost,
                                "rtt_ms": float(r.rtt_ms),
                                "sequence": r.sequence,
                                "ttl": r.ttl,
                            }
                        )
                    )
                    for r in details.replies
                ]
                parts.append(f'"replies": [{", ".join(replies)}]')
        elif value:
            parts.append(f'"{name}": {_value(value)}')
    return "{" + ", ".join(parts) + "}"


def _object(fields: dict[str, Any]) -> str:
    """A flat object whose keys are already in sorted order."""
    return "{" + ", ".join(f'"{name}": {_value(value)}' for name, value in fields.items()) + "}"


def _value(value: object) -> str:
    if value is True:
        return "true"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        return float.__repr__(value)
    return str(value)


def measurement_document(result: MeasurementResult, measurement_id: str = "") -> dict[str, Any]:
    """The Measurement of `result` as MessageToDict(preserving_proto_field_name=True) gives it."""
    measurement_id = measurement_id or new_ids(1)[0]
    if isinstance(result.details, IcmpDetails):
        document: dict[str, Any] = json.loads(icmp_line(result, measurement_id))
        return document
    if isinstance(result.details, DnsDetails):
        return dns_document(result, measurement_id)
    if isinstance(result.details, HttpDetails):
        return http_document(result, measurement_id)
    return _through_protobuf(result, measurement_id)


def _non_default(fields: dict[str, Any]) -> dict[str, Any]:
    # proto3 scalars without presence are left out when they hold 0, 0.0, False or "".
    return {name: value for name, value in fields.items() if value}


@functools.lru_cache(maxsize=256)  # a sweep starts tens of targets in the same millisecond
def _timestamp(moment: datetime) -> str:
    # Timestamp.FromDatetime then ToJsonString (google/protobuf/internal/well_known_types.py).
    if moment.tzinfo is UTC or moment.tzinfo is None:  # the fields are UTC's already
        text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    else:
        seconds = calendar.timegm(moment.utctimetuple())
        text = (_EPOCH + timedelta(seconds=seconds)).isoformat()
    return text + _fraction(moment.microsecond * 1000) + "Z"


def _duration_of_ms(milliseconds: float) -> str:
    """_duration(timedelta(milliseconds=milliseconds)) without the timedelta (a line's second
    largest cost): the same microseconds, as timedelta's constructor computes them for a
    float (Modules/_datetimemodule.c, delta_new: whole milliseconds, then whole microseconds
    of the fraction, the rest rounded half to even)."""
    if type(milliseconds) is not float or not 0 <= milliseconds < 1e12:
        return _duration(timedelta(milliseconds=milliseconds))
    fraction, whole = math.modf(milliseconds)
    fraction, whole_us = math.modf(fraction * 1000.0)
    microseconds = int(whole) * 1000 + int(whole_us)
    if fraction > 0.5 or (fraction == 0.5 and microseconds & 1):
        microseconds += 1
    seconds, microseconds = divmod(microseconds, 1_000_000)
    return f"{seconds}{_fraction(microseconds * 1000)}s"


def _duration(span: timedelta) -> str:
    seconds = span.days * 86_400 + span.seconds
    return f"{seconds}{_fraction(span.microseconds * 1000)}s"


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def _through_protobuf(result: MeasurementResult, measurement_id: str) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    from vantage.probe.convert import result_to_proto

    measurement = result_to_proto(
        result, probe_id="", measurement_id=measurement_id, probe_version=__version__
    )
    document: dict[str, Any] = MessageToDict(measurement, preserving_proto_field_name=True)
    return document


def _enum_names() -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """The names protobuf's JSON mapping prints for Protocol, Outcome and Operation: the proto
    enum's prefix and the Python enum's member name (vantage/kinds.py, vantage/failures.py mirror
    proto/vantage/v1/measurement.proto; tests/probe/measure/test_json_http.py compares them with
    the generated descriptors). Reading the descriptors meant importing the generated module and
    protobuf's runtime, ≈ 0.07 s of start-up for every --json run (issue 18)."""

    def names(enum: type[IntEnum], prefix: str) -> dict[int, str]:
        return {int(member): f"{prefix}_{member.name}" for member in enum}

    return names(Protocol, "PROTOCOL"), names(Outcome, "OUTCOME"), names(Operation, "OPERATION")


_PROTOCOLS, _OUTCOMES, _OPERATIONS = _enum_names()

_OK = Outcome.OK
_OK_NAME, _ICMP_NAME = _OUTCOMES[Outcome.OK], _PROTOCOLS[Protocol.ICMP]
_VERSION = _string(__version__)
