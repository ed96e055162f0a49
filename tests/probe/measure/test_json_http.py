"""HTTP --json without protobuf's slow path (issue 18): http_document gives the documents
protobuf's own JSON mapping gives for the same results."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.protobuf.json_format import MessageToDict

from vantage import __version__, failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.convert import result_to_proto
from vantage.probe.engine.model import (
    ConnectAttempt,
    DnsAnswer,
    DnsDetails,
    HttpDetails,
    HttpTimings,
    MeasurementResult,
    ProbeLoad,
    Redirect,
    TlsInfo,
)
from vantage.probe.measure.json_lines import measurement_document, write_json

AT = datetime(2026, 12, 1, 22, 0, 0, 123456, tzinfo=UTC)
RESOLVED = DnsDetails(
    query_name="www.lab.test", query_type="A", server="198.18.0.53", server_port=53, transport="udp",
    rcode="NOERROR", flags=("qr", "rd", "ra"), answers=(DnsAnswer("www.lab.test.", "A", 0, "198.18.0.80"),),
    response_time_ms=0.5, response_size=60, abuf=b"\x00\x01\xff",
)  # fmt: skip
NO_AAAA = DnsDetails(
    query_name="www.lab.test",
    query_type="AAAA",
    server="198.18.0.53",
    server_port=53,
    transport="udp",
    rcode="NOERROR",
)
TLS = TlsInfo(
    version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", cert_subject="CN=www.lab.test",
    cert_issuer="CN=Vantage Test Root,O=Vantage Test CA", cert_not_after=datetime(2026, 12, 3, 22, 0, 0),
    cert_dns_names=("www.lab.test",), cert_not_before=datetime(2026, 12, 1, 21, 59, 59, 500000),
    cert_sha256="ab" * 32,
)  # fmt: skip


def _result(details: HttpDetails, **fields: object) -> MeasurementResult:
    values: dict[str, object] = {
        "key": "0", "protocol": Protocol.HTTP, "address": "198.18.0.80", "started_at": AT,
        "duration_ms": 12.25, "outcome": Outcome.OK, "details": details, "name": "www.lab.test",
        "port": 443, "url": details.url, "address_family": 4,
    }  # fmt: skip
    values.update(fields)
    return MeasurementResult(**values)  # type: ignore[arg-type]


SAMPLES = [
    _result(
        HttpDetails(
            url="https://www.lab.test/",
            status_code=200,
            timings=HttpTimings(0.75, 0.2, 5.5, 1.25, 8.0, 0.05, tls_socket_ms=4.5, first_byte_socket_ms=1.0),
            headers=(("content-length", "73"), ("content-type", "text/html"), ("server", "vantage-test/1")),
            body_length=73,
            body_sha256="cd" * 32,
            title="Vantage lab page",
            tls=TLS,
            redirects=(Redirect(301, "/"), Redirect(302, "https://www.lab.test/")),
            connected_address="198.18.0.80",
            http_version="HTTP/1.0",
            header_size=140,
            connect_attempts=(
                ConnectAttempt("fd00:0:0:2::80", 0.0, 250.0, abandoned=True),
                ConnectAttempt("198.18.0.80", 250.0, 0.2),
                ConnectAttempt(
                    "198.18.2.80", 0.0, 1.5, Failure(failures.HOST_UNREACHABLE, Operation.CONNECT, "x")
                ),
            ),
            resolve=(RESOLVED, NO_AAAA),
        ),
        source_address="198.19.0.1",
        probe_load=ProbeLoad(3, 0.5),
    ),
    _result(
        HttpDetails(
            url="http://www.lab.test/",
            status_code=200,
            timings=HttpTimings(total_ms=2.0),
            body_length=0,
            body_truncated=True,
            http_version="HTTP/1.1",
        ),
        port=80,
        probe_load=ProbeLoad(0, 0.0),
    ),
    _result(
        HttpDetails(url="https://www.lab.test/", tls=TlsInfo(verification_error="self-signed certificate")),
        outcome=Outcome.FAILURE,
        started_at=AT.replace(microsecond=0),
        failure=Failure(
            failures.SSL_INVALID_CERTIFICATE, Operation.TLS_HANDSHAKE, "certificate verify failed"
        ),
    ),
    _result(
        HttpDetails(url="http://nx.lab.test/", resolve=(NO_AAAA,)),
        address="",
        address_family=0,
        outcome=Outcome.FAILURE,
        failure=Failure(failures.DNS_NXDOMAIN, Operation.RESOLVE, "A: NXDOMAIN"),
    ),
    _result(HttpDetails(url="https://www.lab.test/", tls=TlsInfo()), outcome=Outcome.REFUSED_BY_POLICY),
]


@pytest.mark.parametrize("result", SAMPLES)
def test_http_documents_equal_protobufs_json_mapping(result: MeasurementResult) -> None:
    proto = result_to_proto(result, probe_id="", measurement_id="m-1", probe_version=__version__)
    assert measurement_document(result, "m-1") == MessageToDict(proto, preserving_proto_field_name=True)


def test_http_lines_are_the_documents() -> None:
    import io

    stream = io.StringIO()
    write_json(SAMPLES, stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(SAMPLES)
    for line, result in zip(lines, SAMPLES, strict=True):
        document = json.loads(line)
        assert document == measurement_document(result, document["id"])


def test_enum_names_are_the_descriptors() -> None:
    # json_lines derives them from the Python enums, so --json never imports protobuf's runtime.
    from vantage.probe.measure import json_lines
    from vantage.v1 import measurement_pb2

    for enum_name, table in (
        ("Protocol", json_lines._PROTOCOLS),
        ("Outcome", json_lines._OUTCOMES),
        ("Operation", json_lines._OPERATIONS),
    ):
        enum = measurement_pb2.DESCRIPTOR.enum_types_by_name[enum_name]
        assert table == {value.number: value.name for value in enum.values}
