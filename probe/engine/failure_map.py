"""Classify OS, TLS, DNS and ICMP errors into the closed failure vocabulary, once, at the edge.

Every driver catches what the operating system or a library raised and calls
`failure_from_exception`; nothing else in the probe looks at errno numbers or
exception classes. The tables are data so that tests/probe/engine/test_failure_map.py
can check them row by row. Anything not in a table becomes `unknown_failure`
with the original text in the detail, so a new error shows up instead of
hiding under a wrong name.
"""

from __future__ import annotations

import errno

from vantage import failures as f
from vantage.failures import Failure, Operation

# errno -> failure kind. EHOSTUNREACH also covers ICMP "host/packet administratively
# prohibited" for TCP: Linux folds both into one errno (net/ipv4/icmp.c icmp_err_convert).
ERRNO_KINDS: dict[int, str] = {
    errno.ECONNREFUSED: f.CONNECTION_REFUSED,
    errno.ECONNRESET: f.CONNECTION_RESET,
    errno.ECONNABORTED: f.CONNECTION_RESET,
    errno.EPIPE: f.CONNECTION_RESET,
    errno.EHOSTUNREACH: f.HOST_UNREACHABLE,
    errno.EHOSTDOWN: f.HOST_UNREACHABLE,
    errno.ENETUNREACH: f.NETWORK_UNREACHABLE,
    errno.ENETDOWN: f.NETWORK_UNREACHABLE,
    errno.ENONET: f.NETWORK_UNREACHABLE,
    errno.ETIMEDOUT: f.GENERIC_TIMEOUT,
    # A local firewall (nftables `reject`/`drop` on output) makes sendto/connect fail with EPERM.
    errno.EPERM: f.ADMINISTRATIVELY_PROHIBITED,
    errno.EACCES: f.ADMINISTRATIVELY_PROHIBITED,
}

# getaddrinfo's EAI_* codes (glibc resolv/netdb.h; socket.gaierror's errno) -> failure kind. The
# resolver folds SERVFAIL, REFUSED and an unanswered query into EAI_AGAIN ("try again").
EAI_KINDS: dict[int, str] = {
    -2: f.DNS_NXDOMAIN,  # EAI_NONAME: NXDOMAIN (or no such name in /etc/hosts and DNS)
    -3: f.DNS_SERVER_FAILURE,  # EAI_AGAIN
    -4: f.DNS_SERVER_FAILURE,  # EAI_FAIL: a non-recoverable failure (FORMERR, NOTIMP)
    -5: f.DNS_NO_ANSWER,  # EAI_NODATA: the name exists without an address
    -9: f.DNS_NO_ANSWER,  # EAI_ADDRFAMILY: no address of the asked family
}

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h) -> failure kind.
X509_UNKNOWN_AUTHORITY_CODES = frozenset({2, 18, 19, 20, 21, 27})
X509_HOSTNAME_MISMATCH_CODES = frozenset({62, 64})  # hostname / IP address mismatch
X509_INVALID_CERTIFICATE_CODES = frozenset({9, 10, 7, 13, 14, 23, 24, 26, 28})


def kind_for_x509_code(code: int) -> str:
    if code in X509_HOSTNAME_MISMATCH_CODES:
        return f.SSL_INVALID_HOSTNAME
    if code in X509_UNKNOWN_AUTHORITY_CODES:
        return f.SSL_UNKNOWN_AUTHORITY
    return f.SSL_INVALID_CERTIFICATE


# DNS response codes (presentation form) -> failure kind; NOERROR is not a failure.
RCODE_KINDS: dict[str, str] = {
    "NXDOMAIN": f.DNS_NXDOMAIN,
    "SERVFAIL": f.DNS_SERVER_FAILURE,
    "REFUSED": f.DNS_REFUSED,
    "FORMERR": f.DNS_SERVER_FAILURE,
    "NOTIMP": f.DNS_SERVER_FAILURE,
}


def kind_for_rcode(rcode: str) -> str:
    return RCODE_KINDS.get(rcode, f.DNS_SERVER_FAILURE)


# (ICMP type, code) -> failure kind, for ICMPv4 (family 4) and ICMPv6 (family 6).
ICMP4_ERROR_KINDS: dict[tuple[int, int], str] = {
    (3, 0): f.NETWORK_UNREACHABLE,
    (3, 1): f.HOST_UNREACHABLE,
    (3, 2): f.HOST_UNREACHABLE,  # protocol unreachable: the host answered, but not to echo
    (3, 3): f.HOST_UNREACHABLE,
    (3, 6): f.NETWORK_UNREACHABLE,
    (3, 7): f.HOST_UNREACHABLE,
    (3, 9): f.ADMINISTRATIVELY_PROHIBITED,
    (3, 10): f.ADMINISTRATIVELY_PROHIBITED,
    (3, 11): f.NETWORK_UNREACHABLE,
    (3, 12): f.HOST_UNREACHABLE,
    (3, 13): f.ADMINISTRATIVELY_PROHIBITED,
    (11, 0): f.TTL_EXCEEDED,
    (11, 1): f.TTL_EXCEEDED,
}
ICMP6_ERROR_KINDS: dict[tuple[int, int], str] = {
    (1, 0): f.NETWORK_UNREACHABLE,  # no route to destination
    (1, 1): f.ADMINISTRATIVELY_PROHIBITED,
    (1, 3): f.HOST_UNREACHABLE,  # address unreachable
    (1, 4): f.HOST_UNREACHABLE,  # port unreachable
    (1, 5): f.ADMINISTRATIVELY_PROHIBITED,  # source address failed policy
    (1, 6): f.ADMINISTRATIVELY_PROHIBITED,  # reject route
    (3, 0): f.TTL_EXCEEDED,
    (3, 1): f.TTL_EXCEEDED,
}


def kind_for_icmp_error(family: int, icmp_type: int, code: int) -> str:
    table = ICMP4_ERROR_KINDS if family == 4 else ICMP6_ERROR_KINDS
    return table.get((icmp_type, code), f.HOST_UNREACHABLE)


def failure_from_exception(exc: BaseException, operation: Operation) -> Failure:
    """The vocabulary's name for what went wrong, recorded with the failed operation."""
    detail = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, TimeoutError):
        # Python 3.11: asyncio.TimeoutError is TimeoutError, and so is OSError(ETIMEDOUT).
        return Failure(f.GENERIC_TIMEOUT, operation, detail)
    # Imported here: an ICMP sweep loads this module before its first packet, and ssl costs ≈ 10
    # ms to import (a TLS error only ever comes from a driver that has imported it already).
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(kind_for_x509_code(exc.verify_code), Operation.TLS_HANDSHAKE, exc.verify_message)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return Failure(f.EOF_ERROR, operation, detail)
    if isinstance(exc, ssl.SSLError):
        return Failure(f.SSL_FAILED_HANDSHAKE, Operation.TLS_HANDSHAKE, detail)
    if isinstance(exc, EOFError):  # also asyncio.IncompleteReadError: the peer closed early
        return Failure(f.EOF_ERROR, operation, detail)
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        # asyncio's own "Connection lost" (sslproto.eof_received during a handshake, a stream's
        # drain after the transport closed): the peer sent a FIN. An RST carries ECONNRESET.
        return Failure(f.EOF_ERROR, operation, detail)
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno < 0:
        # getaddrinfo's EAI_* codes (socket.gaierror): negative, unlike every errno.
        return Failure(EAI_KINDS.get(exc.errno, f.UNKNOWN_FAILURE), operation, detail)
    if isinstance(exc, OSError) and exc.errno is not None:
        kind = ERRNO_KINDS.get(exc.errno, f.UNKNOWN_FAILURE)
        return Failure(kind, operation, detail)
    return Failure(f.UNKNOWN_FAILURE, operation, detail)
