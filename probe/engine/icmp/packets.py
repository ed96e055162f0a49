"""ICMP/ICMPv6 echo packets, packed and decoded by hand with `struct` (pure).

Theory of operation. Every echo request carries our identity three times, so that
concurrent runs (another `vantage` process, `ping`, `fping`) never confuse replies:

* the ICMP identifier (per run; on an unprivileged datagram socket the kernel sets it to the
  socket's "port" and only hands us our own replies),
* the sequence number, the low 16 bits of a per-run packet index,
* the payload: MAGIC + a 32-bit run nonce + the full 32-bit packet index, then the send time
  (64-bit ns, as ping(8) puts a timeval there), padded with zeros.

A reply matches when identifier, magic, nonce and the index/sequence agree. The send time comes
back with the reply, so whoever sent the request (this process or a forked sender, see
engine/icmp/fork.py) needs no shared state with whoever reads the reply. An ICMP error
(unreachable, time exceeded) quotes our request's IP header and at least its first 8 ICMP
bytes (RFC 792; Linux quotes up to 576 bytes, routers may quote only 8), so errors are
attributed by (quoted destination, identifier, sequence) and by the index when the payload is
quoted too. Building one packet with scapy costs ≈ 385 µs against ≈ 1 µs here
(measured, docs/probe-engine.md),
which is why the hot path never touches scapy; tests craft errors with scapy and check that
this decoder reads them the same way.

The IPv4 checksum is computed incrementally: only the sequence, index and time words change
between packets. The kernel fills the ICMPv6 checksum (RFC 3542 §3.1) and, on datagram sockets, the
ICMPv4 checksum and identifier.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import NamedTuple

MAGIC = b"VTG1"
IDENTITY_BYTES = 12  # magic + nonce + index: what an ICMP error must quote to name the packet
MIN_PAYLOAD_BYTES = 20  # identity + the 64-bit send time

ICMP4_ECHO_REQUEST = 8
ICMP4_ECHO_REPLY = 0
ICMP4_ERROR_TYPES = frozenset({3, 11, 12})  # unreachable, time exceeded, parameter problem
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
ICMP6_ERROR_TYPES = frozenset({1, 2, 3, 4})  # unreachable, too big, time exceeded, parameter problem

_ID_SEQ = struct.Struct("!HH")
_INDEX = struct.Struct("!I")
# A reply's identifier, sequence, tag, index and send time, read in one call from offset 4.
_REPLY_FIELDS = struct.Struct("!HH8sIQ")
_new_tuple = tuple.__new__
# The start of a raw IPv4 socket's echo reply with a 20-byte IP header, as one unpack: version
# and header length, TTL, ICMP type, identifier, sequence, tag, index, send time. A batched
# reader unpacks it for many messages in C (EchoCodec.raw4_reply_match says what ours holds).
RAW4_REPLY = struct.Struct("!B7xB11xB3xHH8sIQ")


class EchoReply(NamedTuple):
    packet_index: int
    ttl: int  # -1 when the packet does not carry it (the caller takes it from a cmsg)
    sent_ns: int  # the send time our request carried (the sender's wall clock)


class EchoError(NamedTuple):
    icmp_type: int
    code: int
    quoted_destination: str
    sequence: int
    packet_index: int  # -1 when the error did not quote our payload


def _ones_complement_fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes) -> int:
    """RFC 1071 checksum (used for tests and for the constant part of our packets)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    return ~_ones_complement_fold(total) & 0xFFFF


ICMP_DESCRIPTIONS: dict[tuple[int, int, int], str] = {
    (4, 3, 0): "destination unreachable: network unreachable",
    (4, 3, 1): "destination unreachable: host unreachable",
    (4, 3, 2): "destination unreachable: protocol unreachable",
    (4, 3, 3): "destination unreachable: port unreachable",
    (4, 3, 4): "destination unreachable: fragmentation needed",
    (4, 3, 9): "destination unreachable: network administratively prohibited",
    (4, 3, 10): "destination unreachable: host administratively prohibited",
    (4, 3, 13): "destination unreachable: communication administratively prohibited",
    (4, 11, 0): "time exceeded: TTL exceeded in transit",
    (4, 11, 1): "time exceeded: fragment reassembly time exceeded",
    (6, 1, 0): "destination unreachable: no route to destination",
    (6, 1, 1): "destination unreachable: administratively prohibited",
    (6, 1, 3): "destination unreachable: address unreachable",
    (6, 1, 4): "destination unreachable: port unreachable",
    (6, 1, 5): "destination unreachable: source address failed ingress/egress policy",
    (6, 1, 6): "destination unreachable: reject route to destination",
    (6, 2, 0): "packet too big",
    (6, 3, 0): "time exceeded: hop limit exceeded in transit",
}


def describe_icmp_error(family: int, icmp_type: int, code: int) -> str:
    return ICMP_DESCRIPTIONS.get((family, icmp_type, code), f"ICMPv{family} type {icmp_type} code {code}")


class EchoCodec:
    """Packs our echo requests and recognises replies and errors for one run.

    `has_ip_header`: IPv4 raw sockets deliver the IP header; ICMPv6 raw sockets and ICMP
    datagram sockets deliver the ICMP message alone.
    """

    def __init__(self, family: int, ident: int, nonce: int, payload_bytes: int, has_ip_header: bool) -> None:
        if family not in (4, 6):
            raise ValueError(f"address family must be 4 or 6, not {family}")
        self.family = family
        self.ident = ident & 0xFFFF
        self.payload_bytes = max(payload_bytes, MIN_PAYLOAD_BYTES)
        self.has_ip_header = has_ip_header
        self.tag = MAGIC + _INDEX.pack(nonce & 0xFFFFFFFF)
        self._request_type = ICMP4_ECHO_REQUEST if family == 4 else ICMP6_ECHO_REQUEST
        self._reply_type = ICMP4_ECHO_REPLY if family == 4 else ICMP6_ECHO_REPLY
        self._error_types = ICMP4_ERROR_TYPES if family == 4 else ICMP6_ERROR_TYPES
        # Sum of the 16-bit words that never change: type/code, identifier, tag, padding (zeros).
        self._constant_sum = (self._request_type << 8) + self.ident + sum(struct.unpack("!4H", self.tag))
        # The whole request in one pack call (the padding is zeros: struct's "x").
        self._request = struct.Struct(f"!BBHHH8sIQ{self.payload_bytes - MIN_PAYLOAD_BYTES}x")

    def raw4_reply_match(self) -> tuple[int, int, int, bytes] | None:
        """(version/header length byte, ICMP type, identifier, tag) of our replies as RAW4_REPLY
        unpacks them, or None when replies do not come with an IPv4 header (then use decode).

        A message whose fields hold these values, whose index matches its sequence and that is
        at least RAW4_REPLY.size long is one decode() returns as EchoReply(index, ttl, sent_ns)."""
        if self.family != 4 or not self.has_ip_header:
            return None
        return 0x45, self._reply_type, self.ident, self.tag

    def pack(self, index: int, sent_ns: int) -> bytes:
        """The echo request for packet `index` (sequence = index mod 2**16), sent at `sent_ns`."""
        return self.packer()(index, sent_ns)

    def packer(self) -> Callable[[int, int], bytes]:
        """pack() with everything that stays the same bound once: a sender calls it per packet."""
        pack_struct, request_type, ident, tag = self._request.pack, self._request_type, self.ident, self.tag
        constant_sum = self._constant_sum

        def pack4(index: int, sent_ns: int) -> bytes:
            sequence = index & 0xFFFF
            sent_ns &= 0xFFFFFFFFFFFFFFFF
            # One's complement sums may add 32-bit halves and fold later: the total stays below
            # 2**35, so three folds always bring it to 16 bits.
            total = constant_sum + sequence + index + (sent_ns >> 32) + (sent_ns & 0xFFFFFFFF)
            total = (total & 0xFFFF) + (total >> 16)
            total = (total & 0xFFFF) + (total >> 16)
            checksum = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
            return pack_struct(request_type, 0, checksum, ident, sequence, tag, index, sent_ns)

        def pack6(index: int, sent_ns: int) -> bytes:  # the kernel computes the ICMPv6 checksum
            return pack_struct(
                request_type, 0, 0, ident, index & 0xFFFF, tag, index, sent_ns & 0xFFFFFFFFFFFFFFFF
            )

        return pack4 if self.family == 4 else pack6

    def decode(self, data: bytes) -> EchoReply | EchoError | None:
        """Our reply, an error quoting our request, or None for anything else."""
        ttl = -1
        offset = 0
        if self.has_ip_header:
            if len(data) < 20:
                return None
            offset = (data[0] & 0x0F) * 4
            ttl = data[8]
        if len(data) < offset + 8:
            return None
        icmp_type = data[offset]
        if icmp_type == self._reply_type:  # the hot path: inline, no further call
            if len(data) < offset + 8 + MIN_PAYLOAD_BYTES:
                return None
            ident, sequence, tag, index, sent_ns = _REPLY_FIELDS.unpack_from(data, offset + 4)
            if ident != self.ident or tag != self.tag or index & 0xFFFF != sequence:
                return None
            return _new_tuple(EchoReply, (index, ttl, sent_ns))  # NamedTuple's own __new__ is 3x slower
        if icmp_type in self._error_types:
            return self._decode_error(data, offset)
        return None

    def error_for_request(
        self, request: bytes, destination: str, icmp_type: int, code: int
    ) -> EchoError | None:
        """An error reported with our request itself (a datagram socket's error queue)."""
        if len(request) < 8 + IDENTITY_BYTES or request[0] != self._request_type:
            return None
        if request[8:16] != self.tag:
            return None
        (sequence,) = struct.unpack_from("!H", request, 6)
        (index,) = _INDEX.unpack_from(request, 16)
        if index & 0xFFFF != sequence:
            return None
        return EchoError(icmp_type, code, destination, sequence, index)

    def _decode_error(self, data: bytes, offset: int) -> EchoError | None:
        quoted = offset + 8  # the quoted original IP packet
        if self.family == 4:
            if len(data) < quoted + 20 or data[quoted] >> 4 != 4 or data[quoted + 9] != 1:
                return None
            destination = str(ipaddress.IPv4Address(data[quoted + 16 : quoted + 20]))
            inner = quoted + (data[quoted] & 0x0F) * 4
        else:
            if len(data) < quoted + 40 or data[quoted] >> 4 != 6 or data[quoted + 6] != 58:
                return None
            destination = str(ipaddress.IPv6Address(data[quoted + 24 : quoted + 40]))
            inner = quoted + 40
        if len(data) < inner + 8 or data[inner] != self._request_type:
            return None
        ident, sequence = _ID_SEQ.unpack_from(data, inner + 4)
        if ident != self.ident:
            return None
        index = -1
        if len(data) >= inner + 8 + IDENTITY_BYTES and data[inner + 8 : inner + 16] == self.tag:
            (quoted_index,) = _INDEX.unpack_from(data, inner + 16)
            if quoted_index & 0xFFFF == sequence:
                index = quoted_index
        return EchoError(data[offset], data[offset + 1], destination, sequence, index)
