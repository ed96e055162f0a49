"""The edge's failure classification, row by row."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import pytest

from vantage import failures as f
from vantage.failures import FAILURE_KINDS, Operation
from vantage.probe.engine import failure_map
from vantage.probe.engine.failure_map import failure_from_exception


def _cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, message)
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(
    ("exc", "operation", "kind", "reported_operation"),
    [
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
            Operation.CONNECT,
            f.CONNECTION_REFUSED,
            None,
        ),
        (
            ConnectionResetError(errno.ECONNRESET, "reset"),
            Operation.HTTP_ROUND_TRIP,
            f.CONNECTION_RESET,
            None,
        ),
        (OSError(errno.EHOSTUNREACH, "no route"), Operation.CONNECT, f.HOST_UNREACHABLE, None),
        (OSError(errno.ENETUNREACH, "unreachable"), Operation.ICMP_ECHO, f.NETWORK_UNREACHABLE, None),
        (OSError(errno.EPERM, "not permitted"), Operation.ICMP_ECHO, f.ADMINISTRATIVELY_PROHIBITED, None),
        (OSError(errno.ETIMEDOUT, "timed out"), Operation.CONNECT, f.GENERIC_TIMEOUT, None),
        (TimeoutError(), Operation.DNS_ROUND_TRIP, f.GENERIC_TIMEOUT, None),
        (asyncio.IncompleteReadError(b"", 2), Operation.DNS_ROUND_TRIP, f.EOF_ERROR, None),
        (EOFError("closed"), Operation.HTTP_ROUND_TRIP, f.EOF_ERROR, None),
        (
            _cert_error(62, "Hostname mismatch"),
            Operation.CONNECT,
            f.SSL_INVALID_HOSTNAME,
            Operation.TLS_HANDSHAKE,
        ),
        (_cert_error(20, "unable to get local issuer"), Operation.CONNECT, f.SSL_UNKNOWN_AUTHORITY, None),
        (_cert_error(19, "self-signed in chain"), Operation.CONNECT, f.SSL_UNKNOWN_AUTHORITY, None),
        (_cert_error(18, "self-signed"), Operation.CONNECT, f.SSL_UNKNOWN_AUTHORITY, None),
        (_cert_error(10, "certificate has expired"), Operation.CONNECT, f.SSL_INVALID_CERTIFICATE, None),
        (
            ssl.SSLError(1, "handshake failure"),
            Operation.CONNECT,
            f.SSL_FAILED_HANDSHAKE,
            Operation.TLS_HANDSHAKE,
        ),
        (ssl.SSLEOFError(8, "EOF"), Operation.TLS_HANDSHAKE, f.EOF_ERROR, None),
        # Issue 18, item 3: asyncio's errno-less "Connection lost" is a FIN.
        (ConnectionResetError(), Operation.TLS_HANDSHAKE, f.EOF_ERROR, None),
        # Issue 18, item 1: getaddrinfo's EAI codes.
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            Operation.RESOLVE,
            f.DNS_NXDOMAIN,
            None,
        ),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure"),
            Operation.RESOLVE,
            f.DNS_SERVER_FAILURE,
            None,
        ),
        (socket.gaierror(socket.EAI_NODATA, "No address"), Operation.RESOLVE, f.DNS_NO_ANSWER, None),
        (socket.gaierror(socket.EAI_FAIL, "Non-recoverable"), Operation.RESOLVE, f.DNS_SERVER_FAILURE, None),
        (OSError(errno.EINVAL, "odd"), Operation.CONNECT, f.UNKNOWN_FAILURE, None),
        (RuntimeError("surprise"), Operation.CONNECT, f.UNKNOWN_FAILURE, None),
    ],
)
def test_exceptions_map_to_the_vocabulary(
    exc: BaseException, operation: Operation, kind: str, reported_operation: Operation | None
) -> None:
    failure = failure_from_exception(exc, operation)
    assert failure.kind == kind
    expected_operation = reported_operation or (
        Operation.TLS_HANDSHAKE if isinstance(exc, ssl.SSLCertVerificationError) else operation
    )
    assert failure.operation is expected_operation
    assert failure.detail


@pytest.mark.parametrize(
    ("rcode", "kind"),
    [
        ("NXDOMAIN", f.DNS_NXDOMAIN),
        ("SERVFAIL", f.DNS_SERVER_FAILURE),
        ("REFUSED", f.DNS_REFUSED),
        ("BADVERS", f.DNS_SERVER_FAILURE),
    ],
)
def test_rcodes(rcode: str, kind: str) -> None:
    assert failure_map.kind_for_rcode(rcode) == kind


@pytest.mark.parametrize(
    ("family", "icmp_type", "code", "kind"),
    [
        (4, 3, 0, f.NETWORK_UNREACHABLE),
        (4, 3, 1, f.HOST_UNREACHABLE),
        (4, 3, 10, f.ADMINISTRATIVELY_PROHIBITED),
        (4, 3, 13, f.ADMINISTRATIVELY_PROHIBITED),
        (4, 11, 0, f.TTL_EXCEEDED),
        (6, 1, 0, f.NETWORK_UNREACHABLE),
        (6, 1, 1, f.ADMINISTRATIVELY_PROHIBITED),
        (6, 1, 3, f.HOST_UNREACHABLE),
        (6, 3, 0, f.TTL_EXCEEDED),
    ],
)
def test_icmp_errors(family: int, icmp_type: int, code: int, kind: str) -> None:
    assert failure_map.kind_for_icmp_error(family, icmp_type, code) == kind


def test_every_table_entry_is_in_the_vocabulary() -> None:
    tables = [
        failure_map.ERRNO_KINDS,
        failure_map.EAI_KINDS,
        failure_map.RCODE_KINDS,
        failure_map.ICMP4_ERROR_KINDS,
        failure_map.ICMP6_ERROR_KINDS,
    ]
    for table in tables:
        assert set(table.values()) <= FAILURE_KINDS


def test_eai_codes_are_the_c_librarys() -> None:
    assert set(failure_map.EAI_KINDS) == {
        socket.EAI_NONAME, socket.EAI_AGAIN, socket.EAI_FAIL, socket.EAI_NODATA, socket.EAI_ADDRFAMILY
    }  # fmt: skip
