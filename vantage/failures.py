"""The closed vocabulary of failure strings shared by probe and collector.

Modelled on OONI's failure strings (OONI's df-007-errors specification; see
docs/failures.md): remote misbehaviour is data, recorded as a `Failure` with
the operation that failed; our own bugs raise. Probes map OS errors,
TLS errors and DNS answers to these strings once, at the edge; the collector
rejects a measurement whose failure kind is not in `FAILURE_KINDS`.
Adding a string is a compatible change; renaming or removing one is not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Operation(enum.IntEnum):
    """The step that failed; values equal vantage.v1.Operation numbers."""

    UNSPECIFIED = 0
    RESOLVE = 1
    CONNECT = 2
    TLS_HANDSHAKE = 3
    HTTP_ROUND_TRIP = 4
    ICMP_ECHO = 5
    DNS_ROUND_TRIP = 6
    POLICY = 7
    TRACE = 8


# Timeouts and transport errors (OONI names).
GENERIC_TIMEOUT = "generic_timeout_error"
CONNECTION_REFUSED = "connection_refused"
CONNECTION_RESET = "connection_reset"
EOF_ERROR = "eof_error"
HOST_UNREACHABLE = "host_unreachable"
NETWORK_UNREACHABLE = "network_unreachable"
# ICMP "communication administratively prohibited" (a firewall's reject).
ADMINISTRATIVELY_PROHIBITED = "administratively_prohibited"
# ICMP time exceeded in transit (a routing loop, or a TTL-limited probe).
TTL_EXCEEDED = "ttl_exceeded"
# DNS (OONI names).
DNS_NXDOMAIN = "dns_nxdomain_error"
DNS_SERVER_FAILURE = "dns_server_failure"
DNS_REFUSED = "dns_refused_error"
DNS_NO_ANSWER = "dns_no_answer"
DNS_MALFORMED = "dns_malformed_answer"
# TLS (OONI names).
SSL_INVALID_HOSTNAME = "ssl_invalid_hostname"
SSL_UNKNOWN_AUTHORITY = "ssl_unknown_authority"
SSL_INVALID_CERTIFICATE = "ssl_invalid_certificate"
SSL_FAILED_HANDSHAKE = "ssl_failed_handshake"
# HTTP.
HTTP_INVALID_RESPONSE = "http_invalid_response"
HTTP_TOO_MANY_REDIRECTS = "http_too_many_redirects"
# The probe's own safety caps refused the task (nothing was sent).
REFUSED_BY_POLICY = "refused_by_policy"
# Anything the edge could not classify; the detail says what it was.
UNKNOWN_FAILURE = "unknown_failure"

FAILURE_KINDS: frozenset[str] = frozenset(
    {
        GENERIC_TIMEOUT,
        CONNECTION_REFUSED,
        CONNECTION_RESET,
        EOF_ERROR,
        HOST_UNREACHABLE,
        NETWORK_UNREACHABLE,
        ADMINISTRATIVELY_PROHIBITED,
        TTL_EXCEEDED,
        DNS_NXDOMAIN,
        DNS_SERVER_FAILURE,
        DNS_REFUSED,
        DNS_NO_ANSWER,
        DNS_MALFORMED,
        SSL_INVALID_HOSTNAME,
        SSL_UNKNOWN_AUTHORITY,
        SSL_INVALID_CERTIFICATE,
        SSL_FAILED_HANDSHAKE,
        HTTP_INVALID_RESPONSE,
        HTTP_TOO_MANY_REDIRECTS,
        REFUSED_BY_POLICY,
        UNKNOWN_FAILURE,
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: one string of the vocabulary and where it happened."""

    kind: str
    operation: Operation
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAILURE_KINDS:
            raise ValueError(f"failure kind {self.kind!r} is not in the vocabulary")


# Failures that prove the target host (or a server in front of it) answered:
# as evidence of reachability they count like a success (docs/failures.md).
HOST_ANSWERED: frozenset[str] = frozenset(
    {
        CONNECTION_REFUSED,
        DNS_NXDOMAIN,
        DNS_SERVER_FAILURE,
        DNS_REFUSED,
        DNS_NO_ANSWER,
        SSL_INVALID_HOSTNAME,
        SSL_UNKNOWN_AUTHORITY,
        SSL_INVALID_CERTIFICATE,
        HTTP_TOO_MANY_REDIRECTS,
    }
)

# Failures that are evidence the target could not be reached at all.
UNREACHABLE: frozenset[str] = frozenset(
    {GENERIC_TIMEOUT, HOST_UNREACHABLE, NETWORK_UNREACHABLE, ADMINISTRATIVELY_PROHIBITED, TTL_EXCEEDED}
)
