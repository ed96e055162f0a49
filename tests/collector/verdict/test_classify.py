"""What one observation proves (docs/verdict.md): answered, unanswered, or nothing."""

from __future__ import annotations

import pytest

from vantage import failures as f
from vantage.collector.verdict.classify import ANSWER_TABLE, answered
from vantage.kinds import Outcome


@pytest.mark.parametrize(
    ("outcome", "failure", "expected"),
    [
        (Outcome.OK, "", True),
        (Outcome.MISMATCH, "", True),  # answered, not as expected: still alive
        (Outcome.FAILURE, f.CONNECTION_REFUSED, True),
        (Outcome.FAILURE, f.CONNECTION_RESET, True),
        (Outcome.FAILURE, f.EOF_ERROR, True),
        (Outcome.FAILURE, f.DNS_NXDOMAIN, True),
        (Outcome.FAILURE, f.DNS_REFUSED, True),
        (Outcome.FAILURE, f.DNS_SERVER_FAILURE, True),
        (Outcome.FAILURE, f.DNS_NO_ANSWER, True),
        (Outcome.FAILURE, f.SSL_INVALID_HOSTNAME, True),
        (Outcome.FAILURE, f.SSL_UNKNOWN_AUTHORITY, True),
        (Outcome.FAILURE, f.HTTP_INVALID_RESPONSE, True),
        (Outcome.FAILURE, f.GENERIC_TIMEOUT, False),
        (Outcome.FAILURE, f.HOST_UNREACHABLE, False),
        (Outcome.FAILURE, f.NETWORK_UNREACHABLE, False),
        (Outcome.FAILURE, f.ADMINISTRATIVELY_PROHIBITED, False),
        (Outcome.FAILURE, f.TTL_EXCEEDED, False),
        (Outcome.FAILURE, f.REFUSED_BY_POLICY, None),  # nothing was sent
        (Outcome.FAILURE, f.UNKNOWN_FAILURE, None),
        (Outcome.REFUSED_BY_POLICY, "", None),
        (Outcome.UNSPECIFIED, "", None),
    ],
)
def test_what_an_observation_proves(outcome: Outcome, failure: str, expected: bool | None) -> None:
    assert answered(outcome, failure) is expected


def test_plain_ints_from_the_wire_classify_like_enums() -> None:
    assert ANSWER_TABLE.get((1, "")) == 1
    assert ANSWER_TABLE.get((2, f.GENERIC_TIMEOUT)) == 0


def test_every_failure_kind_is_decided_for_failures_or_deliberately_ignored() -> None:
    ignored = {f.REFUSED_BY_POLICY, f.UNKNOWN_FAILURE}
    for kind in f.FAILURE_KINDS - ignored:
        assert answered(Outcome.FAILURE, kind) is not None, kind
