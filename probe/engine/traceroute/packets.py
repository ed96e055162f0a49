"""Traceroute probes, packed and decoded by hand with `struct` (pure; IPv4 and IPv6).

Theory of operation. A trace sends probes with increasing TTL; a router where a probe's TTL
runs out answers with ICMP time exceeded, quoting the probe's IP header and at least its first
8 transport bytes (RFC 792; RFC 1812 §4.3.2.3 routers quote more), and the destination
answers the probe itself (an echo reply, a port unreachable, a SYN-ACK or RST). Which probe an
answer belongs to is read from those first 8 quoted bytes only, since that is all a router
must quote.

Paris traceroute (Augustin et al., "Avoiding traceroute anomalies with Paris traceroute",
IMC 2006): per-flow load balancers hash the addresses, the protocol and the first 4 transport
bytes (ports; for ICMP its type, code and checksum), so those stay constant along a trace and
one trace follows one path. The probe number goes where the hash does not look:

* ICMP echo: the sequence number; two payload bytes are chosen so that the checksum stays
  the same for every probe; the identifier (the flow id) too.
* UDP: source port (the flow id) and destination port constant; the probe number is the UDP
  checksum (number + 1: 0 means "no checksum"), made true by two chosen payload bytes.
* TCP SYN: ports constant; the probe number is the sequence number (a per-run base + number),
  which the target's SYN-ACK or RST acknowledges (+1).

The IP header is the kernel's (a raw socket without IP_HDRINCL, TTL by IP_TTL or
IPV6_UNICAST_HOPS), so the IP identification is the kernel's too. IPv4 raw sockets deliver
the IP header with each answer; IPv6 raw sockets never do (RFC 3542), so the sender and the hop
limit come from recvmsg (`sender`, `hop_limit`). The kernel always writes the ICMPv6 checksum
(RFC 3542 §3.1): the two chosen payload bytes, computed over the IPv6 pseudo-header, make it
come out as the constant anyway. Answers are decoded into `TraceAnswer`s; anything that is
not ours, or is malformed, is None (counted by the session as unmatched), never an exception.
Quoted packets whose identity is ours but whose other fields differ from what we sent are
reported as such (`anomaly`). RFC 4884 extensions are parsed for RFC 4950 MPLS label stacks.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

METHODS = ("icmp", "udp", "tcp")
IP_PROTOCOL = {"icmp": 1, "udp": 17, "tcp": 6}
ICMP6_PROTOCOL = 58
PROTOCOL_TCP = 6
IPV6_HEADER_BYTES = 40


class IcmpNumbers(NamedTuple):
    """The ICMP message types a trace meets, per IP version (RFC 792, RFC 4443)."""

    echo_request: int
    echo_reply: int
    unreachable: int
    time_exceeded: int
    port_unreachable: int  # the unreachable code a UDP probe's destination answers with
    quoting: frozenset[int]  # the types that quote the probe


ICMP4 = IcmpNumbers(8, 0, 3, 11, 3, frozenset({3, 11, 12}))
ICMP6 = IcmpNumbers(128, 129, 1, 3, 4, frozenset({1, 2, 3, 4}))


def icmp_numbers(family: int) -> IcmpNumbers:
    return ICMP6 if family == 6 else ICMP4


TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10

# The probe's payload: two adjustable bytes (the checksum trick) and a fixed tag.
PROBE_TAG = b"VTGtrace"
PAYLOAD_BYTES = 2 + len(PROBE_TAG)
IPV4_HEADER_BYTES = 20
TCP_MSS_OPTION = struct.pack("!BBH", 2, 4, 1460)  # a SYN without MSS is dropped by some middleboxes

# RFC 4884 §4 / RFC 4950: extension structure version 2, MPLS label stack object class 1 type 1.
EXTENSION_VERSION = 2
RFC4884_ORIGINAL_BYTES = 128  # the original datagram is padded to at least 128 bytes
MPLS_CLASS, MPLS_CTYPE = 1, 1

# Reply-level anomalies (closed vocabulary, docs/probe-engine.md "Traceroute").
QUOTE_REWRITTEN = "quote_rewritten"  # our probe's identity, but another destination or protocol field
BAD_EXTENSION = "bad_icmp_extension"  # an RFC 4884 extension header whose objects do not parse
# An ICMP error whose quote is no IPv4 packet at all (truncated, another version, a header
# length below 20): it cannot be attributed; decoded with probe -1 so the session counts it.
GARBAGE_QUOTE = "garbage_quote"


class MplsEntry(NamedTuple):
    label: int
    traffic_class: int
    bottom_of_stack: bool
    ttl: int


class TraceAnswer(NamedTuple):
    """What came back for probe `probe` (its number), decoded."""

    probe: int
    from_address: str
    icmp_type: int  # -1 for a TCP answer
    icmp_code: int
    quoted_ttl: int  # 0 when nothing was quoted
    reply_ttl: int
    mpls: tuple[MplsEntry, ...] = ()
    tcp_flags: int = 0
    anomaly: str = ""


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def word_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def internet_checksum(data: bytes) -> int:
    """RFC 1071."""
    return ~_fold(word_sum(data)) & 0xFFFF


def _address(data: bytes, offset: int, family: int = 4) -> str:
    if family == 6:
        return str(ipaddress.IPv6Address(data[offset : offset + 16]))
    return str(ipaddress.IPv4Address(data[offset : offset + 4]))


class TraceCodec:
    """Packs one trace's probes and recognises the answers to them.

    `source` is the address the kernel will send from (the UDP and TCP checksums cover it).
    """

    def __init__(
        self, method: str, source: str, destination: str, flow_id: int, port: int, seq_base: int = 0
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"trace method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method
        self.source = source
        self.destination = destination
        self.flow_id = flow_id & 0xFFFF
        self.port = port
        self.seq_base = seq_base & 0xFFFFFFFF
        self.family = 6 if ":" in destination else 4
        self.icmp = icmp_numbers(self.family)
        self._source_raw = ipaddress.ip_address(source).packed
        self._destination_raw = ipaddress.ip_address(destination).packed
        self.protocol = ICMP6_PROTOCOL if self.family == 6 and method == "icmp" else IP_PROTOCOL[method]
        # ICMP: one checksum for every probe, derived from the flow id (any value works).
        self.icmp_checksum = (self.flow_id * 0x9E37 + 0x5A5A) & 0xFFFF or 1

    @property
    def packet_bytes(self) -> int:
        """The IP packet size of each probe."""
        transport = {"icmp": 8, "udp": 8, "tcp": 20 + len(TCP_MSS_OPTION)}[self.method]
        header = IPV6_HEADER_BYTES if self.family == 6 else IPV4_HEADER_BYTES
        return header + transport + (0 if self.method == "tcp" else PAYLOAD_BYTES)

    def _pseudo_sum(self, length: int) -> int:
        # IPv4 (RFC 768) and IPv6 (RFC 8200 §8.1) pseudo-headers sum to the same words.
        return word_sum(self._source_raw + self._destination_raw) + self.protocol + length

    def pack(self, probe: int) -> bytes:
        """The transport segment of probe number `probe` (0 ≤ probe < 65535)."""
        if not 0 <= probe < 0xFFFF:
            raise ValueError(f"probe number {probe} out of range")
        if self.method == "icmp":
            # Choose the two payload bytes so that the checksum is self.icmp_checksum: the
            # one's complement sum of the whole message must then be 0xFFFF.
            checksum, request = self.icmp_checksum, self.icmp.echo_request
            partial = (request << 8) + checksum + self.flow_id + probe + word_sum(PROBE_TAG)
            if self.family == 6:  # the kernel's ICMPv6 checksum covers the pseudo-header
                partial += self._pseudo_sum(8 + PAYLOAD_BYTES)
            filler = ~_fold(partial) & 0xFFFF
            header = struct.pack("!BBHHHH", request, 0, checksum, self.flow_id, probe, filler)
            return header + PROBE_TAG
        if self.method == "udp":
            length = 8 + PAYLOAD_BYTES
            checksum = probe + 1
            partial = (
                self._pseudo_sum(length) + self.flow_id + self.port + length + checksum + word_sum(PROBE_TAG)
            )
            filler = ~_fold(partial) & 0xFFFF
            return struct.pack("!HHHHH", self.flow_id, self.port, length, checksum, filler) + PROBE_TAG
        # TCP SYN with an MSS option; the checksum is computed (load balancers hash the ports).
        sequence = (self.seq_base + probe) & 0xFFFFFFFF
        offset_flags = ((20 + len(TCP_MSS_OPTION)) // 4) << 12 | TCP_SYN
        header = struct.pack("!HHIIHHHH", self.flow_id, self.port, sequence, 0, offset_flags, 64240, 0, 0)
        segment = header + TCP_MSS_OPTION
        checksum = ~_fold(self._pseudo_sum(len(segment)) + word_sum(segment)) & 0xFFFF
        return segment[:16] + struct.pack("!H", checksum) + segment[18:]

    # ------------------------------------------------------------ answers

    def decode_icmp(self, data: bytes, sender: str = "", hop_limit: int = 0) -> TraceAnswer | None:
        """An answer from the raw ICMP socket (IPv4: with its IP header; IPv6: the ICMPv6
        message alone, `sender` and `hop_limit` from recvmsg): one to our probes, or None."""
        if self.family == 4:
            if len(data) < IPV4_HEADER_BYTES or data[0] >> 4 != 4:
                return None
            header = (data[0] & 0x0F) * 4
            if header < IPV4_HEADER_BYTES:
                return None
            reply_ttl, sender = data[8], _address(data, 12)
        else:
            header, reply_ttl = 0, hop_limit
        if len(data) < header + 8:
            return None
        icmp_type, code = data[header], data[header + 1]
        if icmp_type == self.icmp.echo_reply:
            if self.method != "icmp":
                return None
            ident, sequence = struct.unpack_from("!HH", data, header + 4)
            if ident != self.flow_id or len(data) < header + 8 + PAYLOAD_BYTES:
                return None
            if data[header + 10 : header + 8 + PAYLOAD_BYTES] != PROBE_TAG:
                return None
            return TraceAnswer(sequence, sender, icmp_type, code, 0, reply_ttl)
        if icmp_type not in self.icmp.quoting:
            return None
        return self._decode_quote(data, header, sender, reply_ttl, icmp_type, code)

    def _decode_quote(
        self, data: bytes, header: int, sender: str, reply_ttl: int, icmp_type: int, code: int
    ) -> TraceAnswer | None:
        quoted = header + 8
        garbage = TraceAnswer(-1, sender, icmp_type, code, 0, reply_ttl, anomaly=GARBAGE_QUOTE)
        if self.family == 4:
            if len(data) < quoted + IPV4_HEADER_BYTES or data[quoted] >> 4 != 4:
                return garbage  # no IPv4 header where the quoted packet should be
            quoted_header = (data[quoted] & 0x0F) * 4
            if quoted_header < IPV4_HEADER_BYTES:
                return garbage
            protocol, quoted_ttl = data[quoted + 9], data[quoted + 8]
            destination = data[quoted + 16 : quoted + 20]
        else:
            if len(data) < quoted + IPV6_HEADER_BYTES or data[quoted] >> 4 != 6:
                return garbage
            quoted_header = IPV6_HEADER_BYTES  # our probes carry no extension headers
            protocol, quoted_ttl = data[quoted + 6], data[quoted + 7]
            destination = data[quoted + 24 : quoted + 40]
        inner = quoted + quoted_header
        if len(data) < inner + 8:
            return garbage
        probe = self._probe_of_quote(data, inner)
        if probe is None:
            return None
        anomaly = ""
        if protocol != self.protocol or destination != self._destination_raw:
            anomaly = QUOTE_REWRITTEN
        mpls, bad = parse_extensions(data, header, self.family)
        if bad and not anomaly:
            anomaly = BAD_EXTENSION
        return TraceAnswer(probe, sender, icmp_type, code, quoted_ttl, reply_ttl, mpls, 0, anomaly)

    def _probe_of_quote(self, data: bytes, inner: int) -> int | None:
        first: int
        second: int
        third: int
        fourth: int
        first, second, third, fourth = struct.unpack_from("!HHHH", data, inner)
        if self.method == "icmp":
            # type/code, checksum, identifier, sequence
            if first != self.icmp.echo_request << 8 or third != self.flow_id:
                return None
            if second != self.icmp_checksum:
                return None  # not the checksum we always send: someone else's echo, or a rewrite
            return fourth
        if self.method == "udp":
            if first != self.flow_id or second != self.port or not fourth:
                return None
            return fourth - 1
        if first != self.flow_id or second != self.port:
            return None
        probe = ((third << 16 | fourth) - self.seq_base) & 0xFFFFFFFF
        return probe if probe < 0xFFFF else None

    def decode_tcp(self, data: bytes, sender: str = "", hop_limit: int = 0) -> TraceAnswer | None:
        """From the raw TCP socket (IPv4: with its IP header; IPv6: the segment alone): the
        target's SYN-ACK or RST to a probe."""
        if self.method != "tcp":
            return None
        if self.family == 4:
            if len(data) < IPV4_HEADER_BYTES or data[0] >> 4 != 4 or data[9] != PROTOCOL_TCP:
                return None
            header = (data[0] & 0x0F) * 4
            if header < IPV4_HEADER_BYTES:
                return None
            sender, hop_limit = _address(data, 12), data[8]
        else:
            header = 0
        if len(data) < header + 14:
            return None
        source_port, destination_port, _seq, ack = struct.unpack_from("!HHII", data, header)
        flags = data[header + 13]
        if source_port != self.port or destination_port != self.flow_id or not flags & TCP_ACK:
            return None
        probe = (ack - 1 - self.seq_base) & 0xFFFFFFFF
        if probe >= 0xFFFF:
            return None
        return TraceAnswer(probe, sender, -1, 0, 0, hop_limit, tcp_flags=flags & 0x3F)


def parse_extensions(data: bytes, header: int, family: int = 4) -> tuple[tuple[MplsEntry, ...], bool]:
    """(MPLS label stack entries, whether a valid extension header had malformed objects).

    RFC 4884 §5: byte 5 of an ICMPv4 time exceeded or unreachable message is the original
    datagram's length in 32-bit words (ICMPv6: byte 4, in 64-bit words), with the extension
    structure after it (at least 128 bytes in);
    routers that predate it put the extension at byte 128 with the length 0 (§5.4), which is
    accepted when the extension header's version and checksum are right.
    """
    words = data[header + 4] * 2 if family == 6 else data[header + 5]
    start = header + 8 + (words * 4 if words else RFC4884_ORIGINAL_BYTES)
    if words and words * 4 < RFC4884_ORIGINAL_BYTES:
        return (), False  # a length too short for an extension to follow (RFC 4884 §4.1)
    if len(data) < start + 4 or data[start] >> 4 != EXTENSION_VERSION:
        return (), False
    checksum = struct.unpack_from("!H", data, start + 2)[0]
    if checksum and internet_checksum(data[start:]) != 0:
        return (), bool(words)  # a declared extension with a bad checksum is reported
    entries: list[MplsEntry] = []
    offset = start + 4
    while offset + 4 <= len(data):
        length, class_num, c_type = struct.unpack_from("!HBB", data, offset)
        if length < 4 or offset + length > len(data):
            return tuple(entries), True
        if class_num == MPLS_CLASS and c_type == MPLS_CTYPE:
            if (length - 4) % 4:
                return tuple(entries), True
            for at in range(offset + 4, offset + length, 4):
                (word,) = struct.unpack_from("!I", data, at)
                entries.append(MplsEntry(word >> 12, (word >> 9) & 7, bool(word >> 8 & 1), word & 0xFF))
        offset += length
    return tuple(entries), offset != len(data)
