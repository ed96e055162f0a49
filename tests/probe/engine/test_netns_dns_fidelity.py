"""DNS measured as faithfully as dig: the fidelity defects of issue 18, against dnsmasq in the lab."""

from __future__ import annotations

import base64

import dns.flags
import dns.message
import pytest

from .netns_lab import DNS_SERVER, NO_TCP_DNS, V6_PROHIBITED, ProbeLab

pytestmark = pytest.mark.netns


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        ("198.18.3.53", "administratively_prohibited"),  # nft reject with admin-prohibited
        ("198.18.4.53", "network_unreachable"),  # nft reject with net-unreachable
        ("198.18.6.53", "ttl_exceeded"),  # routed in a loop until the TTL runs out
        ("198.18.2.53", "host_unreachable"),
        ("198.18.0.99", "connection_refused"),  # port unreachable
        (V6_PROHIBITED, "administratively_prohibited"),
    ],
)
def test_icmp_errors_are_named_by_type_and_code(lab: ProbeLab, server: str, kind: str) -> None:
    # Item 8: over IPv4 the errno alone named admin-prohibited and TTL exceeded host_unreachable.
    _, (doc,) = lab.measure("x.lab.test", "--server", server, "--timeout", "2000", protocol="dns")
    assert doc["failure"]["kind"] == kind, doc
    assert doc["failure"]["operation"] == "OPERATION_DNS_ROUND_TRIP"


def test_queries_carry_edns0_and_a_truncated_answer_survives_a_tcp_failure(lab: ProbeLab) -> None:
    # Item 9: without EDNS0 every answer over 512 bytes needed TCP; when TCP failed the
    # truncated UDP answer was thrown away.
    _, (big,) = lab.measure("big.lab.test", "--server", NO_TCP_DNS, "--type", "TXT", protocol="dns")
    assert big["outcome"] == "OUTCOME_OK" and big["dns"]["transport"] == "udp"
    _, (huge,) = lab.measure("huge.lab.test", "--server", NO_TCP_DNS, "--type", "TXT", protocol="dns")
    assert huge["failure"]["kind"] == "connection_refused"  # TCP/53 reset
    assert huge["dns"]["tcp_fallback"] is True and huge["dns"]["transport"] == "tcp"
    assert "tc" in huge["dns"]["flags"] and huge["dns"]["rcode"] == "NOERROR"
    truncated = dns.message.from_wire(base64.b64decode(huge["dns"]["abuf"]), ignore_trailing=True)
    assert truncated.edns == 0 and truncated.flags & dns.flags.TC
    # The same question to the same dnsmasq where TCP is open: the whole answer.
    _, (whole,) = lab.measure("huge.lab.test", "--server", DNS_SERVER, "--type", "TXT", protocol="dns")
    assert whole["outcome"] == "OUTCOME_OK" and whole["dns"]["response_size"] > 1232
