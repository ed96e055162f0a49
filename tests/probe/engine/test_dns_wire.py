"""The common-answer reader (engine/dns/wire.py) against dnspython's, on generated answers."""

from __future__ import annotations

import ipaddress
import random

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from vantage.probe.engine.dns import step as dns_step
from vantage.probe.engine.dns.wire import read_common
from vantage.probe.engine.model import DnsOptions


def _response(rng: random.Random) -> tuple[DnsOptions, bytes]:
    labels = [
        "".join(rng.choice("abcXYZ019-_") for _ in range(rng.randint(1, 12)))
        for _ in range(rng.randint(1, 4))
    ]
    name = ".".join(labels)
    kind = rng.choice(["A", "AAAA"])
    options = DnsOptions(query_name=name.lower() if rng.random() < 0.5 else name, query_type=kind)
    query = dns.message.from_wire(dns_step.build_query(options, rng.getrandbits(16)))
    response = dns.message.make_response(query)
    response.set_rcode(
        rng.choice([dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.SERVFAIL, dns.rcode.REFUSED])
    )
    for flag in (dns.flags.AA, dns.flags.RA, dns.flags.AD, dns.flags.CD):
        if rng.random() < 0.5:
            response.flags |= flag
    if rng.random() < 0.3:
        response.use_edns(False)
    for _ in range(rng.randint(0, 5)):
        if kind == "A":
            data = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        else:
            data = str(
                ipaddress.IPv6Address(
                    rng.getrandbits(128) if rng.random() < 0.5 else rng.getrandbits(16) << 64
                )
            )
        if response.answer and rng.random() < 0.2:
            data = response.answer[-1][0].to_text()  # the same record twice
        owner = name.upper() if rng.random() < 0.2 else name
        response.answer.append(dns.rrset.from_text(owner + ".", rng.randint(0, 86400), "IN", kind, data))
    return options, response.to_wire()


@pytest.mark.parametrize("seed", range(300))
def test_the_common_reader_agrees_with_dnspython(seed: int) -> None:
    rng = random.Random(seed)
    options, wire = _response(rng)
    common = read_common(wire)
    assert common is not None  # every generated answer has the common shape
    message = dns.message.from_wire(wire, ignore_trailing=True)
    assert common.rcode == message.rcode() and common.flags == int(message.flags) & 0x87B0  # no rcode bits
    assert common.question == message.question[0].name.to_text()
    assert common.answers == tuple(
        (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, rdata.to_text())
        for rrset in message.answer
        for rdata in rrset
    )
    # And interpret judges alike on either path.
    exchange = dns_step.Exchange("198.18.0.53", 53, "udp", wire, 1.0)
    fast = dns_step.interpret(options, exchange)
    slow = dns_step.interpret_with_dnspython(options, exchange)
    assert fast == slow


@pytest.mark.parametrize(
    "wire_edit",
    [
        lambda w: w[:-1],  # truncated
        lambda w: w + b"\x00",  # trailing byte
        lambda w: w[:6] + b"\x00\x09" + w[8:],  # claims more answers than there are
        lambda w: w[:8] + b"\x00\x01" + w[10:],  # an authority record (not there)
    ],
)
def test_anything_else_goes_to_dnspython(wire_edit: object) -> None:
    _, wire = _response(random.Random(7))
    assert read_common(wire) is not None
    assert read_common(wire_edit(wire)) is None  # type: ignore[operator]


def test_other_shapes_go_to_dnspython() -> None:
    query = dns.message.make_query("x.test", "TXT")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("x.test.", 60, "IN", "TXT", '"hello"'))
    assert read_common(response.to_wire()) is None
    mapped = dns.message.make_response(dns.message.make_query("x.test", "AAAA"))
    mapped.answer.append(dns.rrset.from_text("x.test.", 60, "IN", "AAAA", "::ffff:192.0.2.1"))
    assert read_common(mapped.to_wire()) is None
    escaped = dns.message.make_response(dns.message.make_query("a\\.b.test", "A"))
    assert read_common(escaped.to_wire()) is None
