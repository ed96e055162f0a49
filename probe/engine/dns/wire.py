"""The common DNS answer read straight from its wire form (RFC 1035 section 4), without dnspython.

Most answers a probe gets are a few A or AAAA records for the name it asked, with EDNS0's OPT
record beside them. dnspython's general parser (`dns.message.from_wire`) builds a Message, a
Name per owner, an RRset and Rdata objects for them: ≈ half the CPU of a whole query on this
machine (issue 18: DNS per query against a plain dnspython loop and dig). `read_common` reads
exactly that shape and returns None for anything else — another record type, an authority or
additional section beyond one plain OPT, a label needing escapes, an extended rcode, anything
that does not add up — and step.interpret then takes dnspython's path, so every other answer
(and every malformed one) is judged exactly as before. tests/probe/engine/test_dns_wire.py
compares both readers on generated answers.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")  # type, class, ttl, rdlength
_QUESTION_FIXED = struct.Struct("!HH")
_A, _AAAA, _OPT = 1, 28, 41
_CLASS_IN = 1
_TYPE_NAMES = {_A: "A", _AAAA: "AAAA"}
# Label bytes dnspython writes as they are (others it escapes: let it do so).
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_MAX_POINTERS = 16
# dnspython writes ::ffff:a.b.c.d for these and Python's ipaddress does not: dnspython's path.
_V4_MAPPED = bytes(10) + b"\xff\xff"


@dataclass(frozen=True, slots=True)
class CommonAnswer:
    flags: int  # the header's flag bits (QR, AA, TC, RD, RA, AD, CD), as dns.flags reads them
    rcode: int  # 0-15: only answers without an extended rcode are read here
    question: str  # the question's name, presentation form with the final dot
    answers: tuple[tuple[str, str, int, str], ...]  # (owner, type, ttl, data) in wire order


def read_common(wire: bytes) -> CommonAnswer | None:
    """The answer when it has the common shape (see the module docstring), else None."""
    try:
        return _read(wire)
    except (IndexError, ValueError, struct.error):
        return None


def _read(wire: bytes) -> CommonAnswer | None:
    _id, flags, questions, answer_count, authority_count, additional_count = _HEADER.unpack_from(wire)
    if questions != 1 or authority_count or additional_count > 1 or flags & 0x7800:  # opcode QUERY
        return None
    names: dict[int, str] = {}  # offset -> the name read from there: answers point at the question
    question, offset = _name(wire, 12, names)
    if question is None:
        return None
    qtype, qclass = _QUESTION_FIXED.unpack_from(wire, offset)
    offset += 4
    if qclass != _CLASS_IN:
        return None
    rrsets: dict[tuple[str, int], list[Any]] = {}
    for _ in range(answer_count):
        owner, offset = _name(wire, offset, names)
        rtype, rclass, ttl, length = _RR_FIXED.unpack_from(wire, offset)
        offset += 10
        data = wire[offset : offset + length]
        offset += length
        if owner is None or rclass != _CLASS_IN or len(data) != length:
            return None
        if rtype == _A and length == 4:
            text = f"{data[0]}.{data[1]}.{data[2]}.{data[3]}"
        elif rtype == _AAAA and length == 16 and data[:12] != _V4_MAPPED:
            text = str(ipaddress.IPv6Address(data))  # RFC 5952 text, as dnspython writes it
        else:
            return None
        # Grouped as dnspython groups them (an RRset per owner and type: first owner's spelling,
        # the smallest TTL, each rdata once), so both readers give the same answers.
        group = rrsets.get((owner.lower(), rtype))
        if group is None:
            rrsets[(owner.lower(), rtype)] = [owner, ttl, [text]]
        else:
            group[1] = min(group[1], ttl)
            if text not in group[2]:
                group[2].append(text)
    if additional_count:
        if wire[offset] != 0:  # OPT's owner is the root
            return None
        rtype, _payload, extended, length = _RR_FIXED.unpack_from(wire, offset + 1)
        offset += 11 + length
        # The extended rcode and version live in OPT's TTL: only EDNS version 0, no extension.
        if rtype != _OPT or extended >> 16 or offset > len(wire):
            return None
    if offset != len(wire):
        return None  # trailing bytes: dnspython decides (it tolerates some with ignore_trailing)
    del qtype  # the caller compares the records' types with the question it asked
    answers = tuple(
        (owner, _TYPE_NAMES[rtype], ttl, text)
        for (_key, rtype), (owner, ttl, texts) in rrsets.items()
        for text in texts
    )
    return CommonAnswer(flags & 0x87B0, flags & 0x000F, question, answers)


def _name(wire: bytes, offset: int, names: dict[int, str]) -> tuple[str | None, int]:
    """(the name at `offset` with its final dot, or None when it needs dnspython; offset after it).

    `names` holds the names read before, by the offset they start at: a compression pointer to
    one ends the walk (a name read from an offset is always the same)."""
    labels: list[str] = []
    start = offset
    end = -1
    pointers = 0
    while True:
        known = names.get(offset) if pointers else None
        if known is not None:
            text = (
                (".".join(labels) + "." + known if known != "." else ".".join(labels) + ".")
                if labels
                else known
            )
            return text, end
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:  # a compression pointer
            pointers += 1
            if pointers > _MAX_POINTERS:
                return None, offset
            target = ((length & 0x3F) << 8) | wire[offset + 1]
            if end < 0:
                end = offset + 2
            if target >= offset:
                return None, offset  # pointers go backwards only
            offset = target
            continue
        if length > 63:
            return None, offset
        label = wire[offset + 1 : offset + 1 + length]
        if len(label) != length or not _PLAIN.issuperset(label):
            return None, offset
        labels.append(label.decode("ascii"))
        offset += 1 + length
    text = ".".join(labels) + "." if labels else "."
    names[start] = text
    return text, end if end >= 0 else offset
