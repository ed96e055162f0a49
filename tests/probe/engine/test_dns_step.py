"""Interpreting DNS answers: outcomes, failures, mismatches (answers built with dnspython)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from vantage import failures as f
from vantage.kinds import Outcome
from vantage.probe.engine.dns import step as dns_step
from vantage.probe.engine.model import DnsOptions


def _answer(
    options: DnsOptions, *, rcode: int = dns.rcode.NOERROR, records: list[str] = (), name: str = ""
) -> bytes:  # type: ignore[assignment]
    query = dns.message.from_wire(dns_step.build_query(options, 7))
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for text in records:
        response.answer.append(
            dns.rrset.from_text(
                (name or options.query_name).rstrip(".") + ".", 300, "IN", options.query_type, text
            )
        )
    return response.to_wire()


def _interpret(options: DnsOptions, wire: bytes) -> tuple[Outcome, str | None]:
    exchange = dns_step.Exchange("198.18.0.53", 53, "udp", wire, 1.5)
    outcome, failure, details = dns_step.interpret(options, exchange)
    assert details.response_size == len(wire) and details.response_time_ms == 1.5
    return outcome, failure.kind if failure else None


A = DnsOptions(query_name="www.example.test", query_type="A")
A_EXPECT = DnsOptions(query_name="www.example.test", query_type="A", expected=("198.18.0.7", "198.18.0.8"))


@pytest.mark.parametrize(
    ("options", "rcode", "records", "outcome", "kind"),
    [
        (A, dns.rcode.NOERROR, ["198.18.0.7"], Outcome.OK, None),
        (A, dns.rcode.NXDOMAIN, [], Outcome.FAILURE, f.DNS_NXDOMAIN),
        (A, dns.rcode.SERVFAIL, [], Outcome.FAILURE, f.DNS_SERVER_FAILURE),
        (A, dns.rcode.REFUSED, [], Outcome.FAILURE, f.DNS_REFUSED),
        (A, dns.rcode.NOERROR, [], Outcome.FAILURE, f.DNS_NO_ANSWER),
        (A_EXPECT, dns.rcode.NOERROR, ["198.18.0.8"], Outcome.OK, None),
        (A_EXPECT, dns.rcode.NOERROR, ["198.18.0.7", "198.18.0.8"], Outcome.OK, None),
        (A_EXPECT, dns.rcode.NOERROR, ["198.18.0.7", "203.0.113.66"], Outcome.MISMATCH, None),
        (A_EXPECT, dns.rcode.NXDOMAIN, [], Outcome.FAILURE, f.DNS_NXDOMAIN),
        (
            DnsOptions(query_name="www.example.test", query_type="AAAA", expected=("fd00::0007",)),
            dns.rcode.NOERROR,
            ["fd00::7"],
            Outcome.OK,
            None,
        ),
        (
            DnsOptions(query_name="example.test", query_type="TXT", expected=('"hello"',)),
            dns.rcode.NOERROR,
            ['"tampered"'],
            Outcome.MISMATCH,
            None,
        ),
    ],
)
def test_answers(
    options: DnsOptions, rcode: int, records: list[str], outcome: Outcome, kind: str | None
) -> None:
    assert _interpret(options, _answer(options, rcode=rcode, records=records)) == (outcome, kind)


def test_details_carry_rcode_flags_answers_and_ttls() -> None:
    wire = _answer(A, records=["198.18.0.7"])
    _, _, details = dns_step.interpret(A, dns_step.Exchange("198.18.0.53", 53, "udp", wire, 1.0))
    assert details.rcode == "NOERROR"
    assert "qr" in details.flags and "rd" in details.flags
    assert [(a.name, a.type, a.ttl, a.data) for a in details.answers] == [
        ("www.example.test.", "A", 300, "198.18.0.7")
    ]
    assert details.abuf == wire


@pytest.mark.parametrize(
    "wire", [b"\x00\x07\x81\x80" + b"\x00\x01" * 4, b"\x00\x07\x81"], ids=["lying counts", "short"]
)
def test_malformed_answers(wire: bytes) -> None:
    assert _interpret(A, wire) == (Outcome.FAILURE, f.DNS_MALFORMED)


def test_answer_to_another_question_is_malformed() -> None:
    other = DnsOptions(query_name="other.test", query_type="A")
    assert _interpret(A, _answer(other, records=["198.18.0.7"])) == (Outcome.FAILURE, f.DNS_MALFORMED)


def test_query_recognition_and_truncation() -> None:
    query = dns_step.build_query(A, 0xBEEF)
    assert not dns_step.answers_query(0xBEEF, query)  # a query, not an answer (QR clear)
    response = dns.message.make_response(dns.message.from_wire(query))
    response.flags |= dns.flags.TC
    wire = response.to_wire()
    assert dns_step.answers_query(0xBEEF, wire) and not dns_step.answers_query(0xBEEE, wire)
    assert dns_step.is_truncated(wire)


def test_bad_questions_are_rejected() -> None:
    with pytest.raises(ValueError):
        dns_step.validate_options(DnsOptions(query_type="NOTATYPE"))


def test_queries_differ_only_in_their_id() -> None:
    first, second = dns_step.build_query(A, 1), dns_step.build_query(A, 0xABCD)
    assert first[2:] == second[2:] and second[:2] == b"\xab\xcd"
    parsed = dns.message.from_wire(second)
    assert parsed.id == 0xABCD and parsed.flags & dns.flags.RD
    assert parsed.question[0].name.to_text() == "www.example.test." and parsed.question[0].rdtype == 1
    no_rd = dns.message.from_wire(
        dns_step.build_query(DnsOptions(query_name="x.test", recursion_desired=False), 2)
    )
    assert not no_rd.flags & dns.flags.RD


@pytest.mark.parametrize(
    "name",
    ["www.example.test", "www.example.test.", ".", "Mixed.Case.test", "a\\.b.test", "xn--bcher-kva.test"],
)
@pytest.mark.parametrize("query_type", ["A", "AAAA", "txt", "SOA"])
@pytest.mark.parametrize("recursion_desired", [True, False])
def test_query_wire_is_dnspythons(name: str, query_type: str, recursion_desired: bool) -> None:
    # The template is put together by hand (issue 18: make_query per name cost ≈ 1 ms of CPU).
    options = DnsOptions(query_name=name, query_type=query_type, recursion_desired=recursion_desired)
    query = dns.message.make_query(name, query_type, use_edns=0, payload=dns_step.EDNS_PAYLOAD_BYTES)
    query.id = 7
    if not recursion_desired:
        query.flags &= ~dns.flags.RD
    assert dns_step.build_query(options, 7) == query.to_wire()
