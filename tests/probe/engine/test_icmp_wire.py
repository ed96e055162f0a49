"""The hand-packed echo codec against scapy, the reference dissector and crafter."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, ICMPerror, IPerror
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6TimeExceeded,
    IPv6,
)
from scapy.packet import Raw

from vantage.probe.engine.icmp.packets import EchoCodec, EchoError, EchoReply, internet_checksum

IDENT, NONCE = 0x1234, 0xDEADBEEF
SENT_NS = 1_764_000_000_123_456_789  # a wall-clock time in ns (late 2025)


def codec4(raw: bool = True) -> EchoCodec:
    return EchoCodec(4, IDENT, NONCE, 56, has_ip_header=raw)


@pytest.mark.parametrize("index", [0, 1, 0xFFFF, 0x10000, 0x12345, 0xFFFFFFFF])
@pytest.mark.parametrize("sent_ns", [0, 1, SENT_NS, 0xFFFF_FFFF_FFFF_FFFF, 0x0001_0000_FFFF_0000])
def test_ipv4_request_checksum_and_fields_agree_with_scapy(index: int, sent_ns: int) -> None:
    packet = codec4().pack(index, sent_ns)
    parsed = ICMP(packet)
    assert parsed.type == 8 and parsed.code == 0
    assert parsed.id == IDENT and parsed.seq == index & 0xFFFF
    assert internet_checksum(packet) == 0  # a valid checksum sums to zero
    assert len(packet) == 8 + 56
    assert bytes(parsed.payload)[8:20] == index.to_bytes(4, "big") + sent_ns.to_bytes(8, "big")


def test_the_payload_never_shrinks_below_identity_and_send_time() -> None:
    assert len(EchoCodec(4, IDENT, NONCE, 0, has_ip_header=True).pack(1, SENT_NS)) == 8 + 20


def test_ipv6_request_leaves_checksum_to_the_kernel() -> None:
    packet = EchoCodec(6, IDENT, NONCE, 56, has_ip_header=False).pack(70000, SENT_NS)
    parsed = ICMPv6EchoRequest(packet)
    assert parsed.type == 128 and parsed.id == IDENT and parsed.seq == 70000 & 0xFFFF
    assert parsed.cksum == 0


def _reply4(request: bytes, ttl: int = 57, ident: int = IDENT) -> bytes:
    payload = request[8:]
    return bytes(
        IP(src="198.18.0.9", dst="198.18.1.1", ttl=ttl)
        / ICMP(type=0, id=ident, seq=int.from_bytes(request[6:8], "big"))
        / Raw(payload)
    )


def test_ipv4_reply_is_recognised_with_its_ttl() -> None:
    codec = codec4()
    assert codec.decode(_reply4(codec.pack(70000, SENT_NS))) == EchoReply(70000, 57, SENT_NS)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda codec: _reply4(codec.pack(5, SENT_NS), ident=IDENT + 1), id="other identifier"),
        pytest.param(
            lambda codec: _reply4(EchoCodec(4, IDENT, NONCE + 1, 56, True).pack(5, SENT_NS)),
            id="other run's nonce",
        ),
        pytest.param(
            lambda codec: bytes(IP() / ICMP(type=8, id=IDENT) / Raw(codec.pack(5, SENT_NS)[8:])),
            id="a request",
        ),
        pytest.param(lambda codec: _reply4(codec.pack(5, SENT_NS))[:30], id="truncated"),
        pytest.param(lambda codec: b"\x45" + bytes(5), id="garbage"),
    ],
)
def test_foreign_packets_are_ignored(mutate: object) -> None:
    codec = codec4()
    assert codec.decode(mutate(codec)) is None  # type: ignore[operator]


def test_ipv4_unreachable_quoting_the_whole_request_names_the_packet() -> None:
    codec = codec4()
    original = IP(
        bytes(IP(src="198.18.1.1", dst="198.18.7.7", ttl=64, proto=1) / Raw(codec.pack(0x10003, SENT_NS)))
    )
    error = IP(src="198.18.0.1", dst="198.18.1.1") / ICMP(type=3, code=13) / IPerror(bytes(original))
    assert codec.decode(bytes(error)) == EchoError(3, 13, "198.18.7.7", 3, 0x10003)


def test_ipv4_time_exceeded_quoting_only_8_bytes_gives_the_sequence() -> None:
    codec = codec4()
    request = codec.pack(0x20004, SENT_NS)
    quoted = IPerror(src="198.18.1.1", dst="198.18.7.8", proto=1) / ICMPerror(request[:8])
    error = IP(src="198.18.0.1", dst="198.18.1.1") / ICMP(type=11, code=0) / quoted
    assert codec.decode(bytes(error)) == EchoError(11, 0, "198.18.7.8", 4, -1)


def test_ipv6_reply_and_unreachable() -> None:
    codec = EchoCodec(6, IDENT, NONCE, 56, has_ip_header=False)
    request = codec.pack(9, SENT_NS)
    reply = ICMPv6EchoReply(id=IDENT, seq=9, data=request[8:])
    assert codec.decode(bytes(reply)) == EchoReply(9, -1, SENT_NS)
    quoted = IPv6(src="fd00::1", dst="fd00::7", nh=58, hlim=64) / Raw(request)
    unreachable = ICMPv6DestUnreach(code=1) / quoted
    assert codec.decode(bytes(unreachable)) == EchoError(1, 1, "fd00::7", 9, 9)
    exceeded = ICMPv6TimeExceeded(code=0) / IPv6(src="fd00::1", dst="fd00::8", nh=58) / Raw(request[:8])
    assert codec.decode(bytes(exceeded)) == EchoError(3, 0, "fd00::8", 9, -1)


def test_errors_from_a_datagram_sockets_error_queue_name_the_packet() -> None:
    codec = EchoCodec(4, IDENT, NONCE, 56, has_ip_header=False)
    request = codec.pack(0x30007, SENT_NS)
    assert codec.error_for_request(request, "198.18.2.1", 3, 1) == EchoError(3, 1, "198.18.2.1", 7, 0x30007)
    other_run = EchoCodec(4, IDENT, NONCE + 1, 56, has_ip_header=False).pack(7, SENT_NS)
    assert codec.error_for_request(other_run, "198.18.2.1", 3, 1) is None
    assert codec.error_for_request(request[:12], "198.18.2.1", 3, 1) is None
