"""What one observation proves, decided once (docs/verdict.md lists the two families).

An *answered* observation proves that the target host is alive: it replied, even if only to refuse
(connection_refused, DNS errors, TLS and HTTP errors; connection_reset is ambiguous — it is also a
censorship signature — but for reachability something did answer). An *unanswered* one is evidence
of unreachability (timeouts, ICMP unreachables, TTL exceeded). Everything else (the probe's own
policy refused, or the probe could not classify the error) proves nothing and is ignored.
"""

from __future__ import annotations

from vantage import failures as f
from vantage.kinds import Outcome

ALIVE_FAILURES: frozenset[str] = frozenset(
    {
        f.CONNECTION_REFUSED,
        f.CONNECTION_RESET,
        f.EOF_ERROR,
        f.DNS_NXDOMAIN,
        f.DNS_REFUSED,
        f.DNS_SERVER_FAILURE,
        f.DNS_NO_ANSWER,
        f.DNS_MALFORMED,
        f.SSL_INVALID_HOSTNAME,
        f.SSL_UNKNOWN_AUTHORITY,
        f.SSL_INVALID_CERTIFICATE,
        f.SSL_FAILED_HANDSHAKE,
        f.HTTP_INVALID_RESPONSE,
        f.HTTP_TOO_MANY_REDIRECTS,
    }
)
UNREACHABLE_FAILURES: frozenset[str] = frozenset(
    {
        f.GENERIC_TIMEOUT,
        f.HOST_UNREACHABLE,
        f.NETWORK_UNREACHABLE,
        f.ADMINISTRATIVELY_PROHIBITED,
        f.TTL_EXCEEDED,
    }
)
# Failures that, from inside an AS, point at interference when the control succeeds (OONI's
# blocking types dns / tcp_ip / http-failure). refused_by_policy and unknown_failure prove nothing.
BLOCKING_FAILURES: frozenset[str] = (ALIVE_FAILURES | UNREACHABLE_FAILURES) - {f.HTTP_TOO_MANY_REDIRECTS}

# Silence is a weaker sign of interference than a forged answer or a reset: packets also get lost.
# An anomaly of this kind counts half (interference.py).
WEAK_BLOCKING_FAILURES: frozenset[str] = frozenset(
    {f.GENERIC_TIMEOUT, f.HOST_UNREACHABLE, f.NETWORK_UNREACHABLE, f.TTL_EXCEEDED}
)

# Interference kinds that are not failure strings of the vocabulary (OONI's dns / http-diff).
DNS_INCONSISTENT = "dns_inconsistent"
HTTP_DIFF = "http_diff"


def _build_answer_table() -> dict[tuple[int, str], int]:
    table: dict[tuple[int, str], int] = {}
    every_failure = (*sorted(f.FAILURE_KINDS), "")
    for failure in every_failure:
        # A result that came back (even not as expected) proves the host answered.
        table[(Outcome.OK, failure)] = 1
        table[(Outcome.MISMATCH, failure)] = 1
    for failure in ALIVE_FAILURES:
        table[(Outcome.FAILURE, failure)] = 1
    for failure in UNREACHABLE_FAILURES:
        table[(Outcome.FAILURE, failure)] = 0
    return table


# (outcome, failure) -> 1 answered / 0 unanswered; absent = proves nothing. A dict lookup is the
# fastest way to classify millions of observations per round.
ANSWER_TABLE: dict[tuple[int, str], int] = _build_answer_table()


def answered(outcome: int, failure: str) -> bool | None:
    """True: the host answered; False: evidence of unreachability; None: proves nothing."""
    value = ANSWER_TABLE.get((outcome, failure))
    return None if value is None else bool(value)
