"""One DNS query, as pure steps: the question to send, and what the answer means.

The driver (engine/dns/driver.py) moves the bytes; this module builds the query wire, recognises the
answer to it, and turns the answer into an outcome: rcode failures (NXDOMAIN, SERVFAIL,
REFUSED...) are failures of the vocabulary; a NOERROR answer without a record of the asked type
is `dns_no_answer`; with an expectation, an answer outside the expected set is
OUTCOME_MISMATCH (possible tampering), which is not a failure.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import struct
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from vantage import failures
from vantage.failures import Failure, Operation
from vantage.kinds import Outcome
from vantage.probe.engine.dns.wire import CommonAnswer, read_common
from vantage.probe.engine.failure_map import kind_for_rcode
from vantage.probe.engine.model import DnsAnswer, DnsDetails, DnsOptions, fast_builder

if TYPE_CHECKING:
    import dns.name

# dnspython is imported only for what the common path leaves to it (a name with escapes or
# non-ASCII labels, a record type outside _TYPE_CODES, an answer read_common does not read):
# importing it costs ≈ 0.1 s of CPU here (dns.name alone reads package metadata through
# importlib.metadata), a fifth of a short run's start-up (issue 18: CPU per query and request).

# Atlas keeps the raw answer (abuf); a UDP answer without EDNS fits in 512 bytes, and 4 kB
# covers an EDNS answer while bounding what one result can weigh.
MAX_ABUF_BYTES = 4096
# EDNS0 with the DNS flag day 2020 buffer size (https://www.dnsflagday.net/2020/), dig's
# default too: answers up to 1232 bytes come over UDP instead of falling back to TCP, which a
# network that blocks TCP/53 would fail (issue 18).
EDNS_PAYLOAD_BYTES = 1232
_TC_BIT = 0x02  # in the third header byte
# The header's flag bits (RFC 1035 section 4.1.1, RFC 4035 section 3.2), as dns.flags names
# them (tests/probe/engine/test_dns_step.py compares both).
_FLAGS = (
    ("qr", 0x8000),
    ("aa", 0x0400),
    ("tc", 0x0200),
    ("rd", 0x0100),
    ("ra", 0x0080),
    ("ad", 0x0020),
    ("cd", 0x0010),
)
_RD = 0x0100
_NOERROR = 0
# The rcodes of a plain header (RFC 1035, RFC 2136) as dns.rcode.to_text writes them; others
# (and extended rcodes) through dnspython.
_RCODE_NAMES = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
)  # fmt: skip
# The types a probe asks most (IANA DNS parameters); any other through dns.rdatatype.
_TYPE_CODES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
    "SRV": 33, "DS": 43, "DNSKEY": 48, "SVCB": 64, "HTTPS": 65, "CAA": 257, "ANY": 255,
}  # fmt: skip
# A label dnspython reads and writes as it is (no escapes, no IDNA): RFC 1035 letters, digits
# and hyphens, and the underscore of service names.
_PLAIN_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")
_MAX_NAME_BYTES = 255


def validate_options(options: DnsOptions) -> None:
    """Raise ValueError for a question that cannot be asked."""
    if _plain_wire(options.query_name) is not None and options.query_type.upper() in _TYPE_CODES:
        return
    import dns.exception

    try:
        _asked_name(options.query_name)  # parsed once: interpret compares answers with it
        _type_code(options.query_type)
    except dns.exception.DNSException as exc:
        raise ValueError(f"cannot ask {options.query_name!r} {options.query_type!r}: {exc}") from None


def build_query(options: DnsOptions, query_id: int) -> bytes:
    """The query's wire form with `query_id`: a cached template with the id patched in."""
    template = _query_template(options.query_name, options.query_type, options.recursion_desired)
    return (query_id & 0xFFFF).to_bytes(2, "big") + template[2:]


@functools.lru_cache(maxsize=4096)
def _query_template(query_name: str, query_type: str, recursion_desired: bool) -> bytes:
    """The query with id 0, as dnspython's make_query(name, type, use_edns=0, payload=1232)
    writes it (tests/probe/engine/test_dns_step.py compares them), put together from its parts.

    make_query and to_wire cost ≈ 1 ms of CPU a query here, the largest part of a run that asks
    many different names (issue 18); a round asking the same few questions of many servers
    reuses the template anyway.
    """
    flags = _RD if recursion_desired else 0
    header = _QUERY_HEADER.pack(0, flags, 1, 0, 0, 1)  # one question, one additional (OPT)
    name_wire = _plain_wire(query_name)
    if name_wire is None:
        name_wire = _asked_name(query_name).to_wire()
        assert name_wire is not None  # None only when writing into a file-like object
    question = name_wire + _QUESTION_TAIL.pack(_type_code(query_type), 1)
    return header + question + _OPT_RECORD


@functools.lru_cache(maxsize=8192)
def _plain_wire(query_name: str) -> bytes | None:
    """The wire form of a name made of plain labels (_PLAIN_LABEL), as dns.name writes it (case
    kept, always absolute); None for any other name, which dnspython reads (escapes, IDNA, the
    root, errors)."""
    text = query_name[:-1] if query_name.endswith(".") else query_name
    if not text:
        return None
    wire = bytearray()
    for label in text.split("."):
        if not _PLAIN_LABEL.match(label):
            return None
        wire.append(len(label))
        wire += label.encode("ascii")
    wire.append(0)
    return bytes(wire) if len(wire) <= _MAX_NAME_BYTES else None


def _type_code(query_type: str) -> int:
    code = _TYPE_CODES.get(query_type.upper())
    if code is not None:
        return code
    import dns.rdatatype

    return int(dns.rdatatype.from_text(query_type))


def _rcode_text(rcode: int) -> str:
    if 0 <= rcode < len(_RCODE_NAMES):
        return _RCODE_NAMES[rcode]
    import dns.rcode

    return dns.rcode.to_text(rcode)  # type: ignore[arg-type]


_QUERY_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")  # type, class IN
# EDNS0's OPT record: the root name, type OPT (41), the payload size as its class, TTL 0
# (extended rcode 0, version 0, no flags), no options (RFC 6891 section 6.1.2).
_OPT_RECORD = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD_BYTES, 0, 0)


def answers_query(query_id: int, wire: bytes) -> bool:
    """Whether a datagram is (at least claims to be) the answer to our query."""
    return len(wire) >= 12 and int.from_bytes(wire[0:2], "big") == query_id & 0xFFFF and bool(wire[2] & 0x80)


def is_truncated(wire: bytes) -> bool:
    return len(wire) >= 3 and bool(wire[2] & _TC_BIT)


@dataclass(frozen=True, slots=True)
class Exchange:
    """What the driver observed: the answer's bytes and how it got them."""

    server: str
    port: int
    transport: str
    response: bytes
    response_time_ms: float
    tcp_fallback: bool = False


def base_details(options: DnsOptions, server: str, transport: str, tcp_fallback: bool = False) -> DnsDetails:
    return DnsDetails(
        query_name=options.query_name,
        query_type=options.query_type.upper(),
        server=server,
        server_port=options.port,
        transport=transport,
        tcp_fallback=tcp_fallback,
        expected=options.expected,
    )


def interpret(options: DnsOptions, exchange: Exchange) -> tuple[Outcome, Failure | None, DnsDetails]:
    common = read_common(exchange.response)
    if common is not None and common.question.lower() == _asked_text(options.query_name):
        return _judge_common(options, exchange, common)
    return interpret_with_dnspython(options, exchange)


def interpret_with_dnspython(
    options: DnsOptions, exchange: Exchange
) -> tuple[Outcome, Failure | None, DnsDetails]:
    """interpret() for any answer: dnspython parses it (every shape read_common leaves out)."""
    details = base_details(options, exchange.server, exchange.transport, exchange.tcp_fallback)
    details = replace(
        details,
        response_time_ms=exchange.response_time_ms,
        response_size=len(exchange.response),
        abuf=exchange.response[:MAX_ABUF_BYTES],
    )
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

    try:
        message = dns.message.from_wire(exchange.response, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, IndexError) as exc:
        failure = Failure(failures.DNS_MALFORMED, Operation.DNS_ROUND_TRIP, f"{type(exc).__name__}: {exc}")
        return Outcome.FAILURE, failure, details
    rcode = dns.rcode.to_text(message.rcode())
    flags = tuple(name for name, bit in _FLAGS if message.flags & bit)
    answers = tuple(
        DnsAnswer(
            name=rrset.name.to_text(),
            type=dns.rdatatype.to_text(rrset.rdtype),
            ttl=rrset.ttl,
            data=rdata.to_text(),
        )
        for rrset in message.answer
        for rdata in rrset
    )
    details = replace(details, rcode=rcode, flags=flags, answers=answers)
    if message.question and message.question[0].name != _asked_name(options.query_name):
        failure = Failure(failures.DNS_MALFORMED, Operation.DNS_ROUND_TRIP, "answer to a different question")
        return Outcome.FAILURE, failure, details
    return _judge(options, rcode, message.rcode(), answers, details)


def _judge(
    options: DnsOptions, rcode: str, rcode_value: int, answers: tuple[DnsAnswer, ...], details: DnsDetails
) -> tuple[Outcome, Failure | None, DnsDetails]:
    if rcode_value != _NOERROR:
        return Outcome.FAILURE, Failure(kind_for_rcode(rcode), Operation.DNS_ROUND_TRIP, rcode), details
    wanted_type = options.query_type.upper()
    relevant = [answer for answer in answers if answer.type == wanted_type]
    if not relevant:
        failure = Failure(failures.DNS_NO_ANSWER, Operation.DNS_ROUND_TRIP, f"NOERROR without {wanted_type}")
        return Outcome.FAILURE, failure, details
    if options.expected:
        expected = {_normalise(value) for value in options.expected}
        unexpected = [answer.data for answer in relevant if _normalise(answer.data) not in expected]
        if unexpected:
            return Outcome.MISMATCH, None, details
    return Outcome.OK, None, details


@functools.lru_cache(maxsize=8192)  # parsed once per name, like the query template
def _asked_name(query_name: str) -> dns.name.Name:
    import dns.name

    return dns.name.from_text(query_name)


@functools.lru_cache(maxsize=8192)
def _asked_text(query_name: str) -> str:
    """The asked name as read_common spells a question: presentation form, final dot, lower case."""
    if _plain_wire(query_name) is not None:
        return (query_name if query_name.endswith(".") else query_name + ".").lower()
    return _asked_name(query_name).to_text().lower()


def _judge_common(
    options: DnsOptions, exchange: Exchange, common: CommonAnswer
) -> tuple[Outcome, Failure | None, DnsDetails]:
    """interpret() for an answer of the common shape (engine/dns/wire.py), the same judgement."""
    rcode = _rcode_text(common.rcode)
    answers = tuple(_dns_answer(name, kind, ttl, data) for name, kind, ttl, data in common.answers)
    # Positional, in DnsDetails' declaration order (fast_builder): query_name, query_type, server,
    # server_port, transport, rcode, flags, answers, response_time_ms, response_size,
    # tcp_fallback, expected, abuf.
    details = _dns_details(
        options.query_name,
        options.query_type.upper(),
        exchange.server,
        options.port,
        exchange.transport,
        rcode,
        _flag_names(common.flags),
        answers,
        exchange.response_time_ms,
        len(exchange.response),
        exchange.tcp_fallback,
        options.expected,
        exchange.response[:MAX_ABUF_BYTES],
    )
    return _judge(options, rcode, common.rcode, answers, details)


_dns_answer = fast_builder(DnsAnswer)
_dns_details = fast_builder(DnsDetails)


@functools.lru_cache(maxsize=256)  # a run's answers carry a handful of distinct flag sets
def _flag_names(flags: int) -> tuple[str, ...]:
    return tuple(name for name, bit in _FLAGS if flags & bit)


def _normalise(value: str) -> str:
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower().rstrip(".")
