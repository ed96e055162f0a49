"""The traceroute's pure core: probes, answers crafted with scapy, stop rules, hostile hops.

A scripted path stands in for the network: hop i answers probe packets with what the table
says (time exceeded, unreachable, the destination's own answer, silence, garbage), built
with scapy from the very bytes our codec packed, and decoded by our codec; the session
decides when to stop. Time is an argument (ns): no sleeps, no sockets.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.packet import Raw

with warnings.catch_warnings():  # scapy.layers.inet has the extension header, but no MPLS object
    warnings.simplefilter("ignore", DeprecationWarning)
    from scapy.contrib.icmp_extensions import ICMPExtensionHeader, ICMPExtensionMPLS

from vantage.probe.engine.model import TracerouteOptions
from vantage.probe.engine.traceroute import packets
from vantage.probe.engine.traceroute.packets import TraceCodec, internet_checksum
from vantage.probe.engine.traceroute.step import (
    COMPLETED,
    DESTINATION_AT_EVERY_TTL,
    GAP_LIMIT,
    LOOP,
    MAX_TTL,
    QUOTED_TTL_ABOVE_SENT,
    UNREACHABLE,
    TraceSession,
    hops_travelled,
)

SOURCE, DESTINATION = "198.19.11.1", "198.18.100.1"
MS = 1_000_000


def router(n: int) -> str:
    return f"198.19.{10 + n}.2"


def codec(method: str = "icmp", port: int = 0) -> TraceCodec:
    default = {"icmp": 0, "udp": 33434, "tcp": 80}[method]
    return TraceCodec(method, SOURCE, DESTINATION, flow_id=40001, port=port or default, seq_base=0xFFFFFF00)


def sent_packet(c: TraceCodec, number: int, ttl: int) -> IP:
    """The IP packet the kernel would send for probe `number` (our segment, its header)."""
    return IP(src=SOURCE, dst=DESTINATION, ttl=ttl, proto=c.protocol, id=number + 7) / Raw(c.pack(number))


# An answer is built from (codec, probe number, the probe as it reached the hop) -> bytes.
Answer = Callable[[TraceCodec, int, IP], bytes | None]


def time_exceeded(hop: str, quoted_ttl: int = 1) -> Answer:
    def build(c: TraceCodec, number: int, probe: IP) -> bytes:
        quoted = IP(bytes(probe))
        quoted.ttl = quoted_ttl
        del quoted.chksum
        return bytes(IP(src=hop, dst=SOURCE, ttl=60) / ICMP(type=11, code=0) / IP(bytes(quoted)))

    return build


def unreachable(hop: str, code: int) -> Answer:
    def build(c: TraceCodec, number: int, probe: IP) -> bytes:
        return bytes(IP(src=hop, dst=SOURCE, ttl=60) / ICMP(type=3, code=code) / IP(bytes(probe)))

    return build


def destination(reply_ttl: int = 61) -> Answer:
    """The destination's own answer to the probe, whichever method it was."""

    def build(c: TraceCodec, number: int, probe: IP) -> bytes:
        if c.method == "icmp":
            segment = bytes(probe.payload)
            reply = ICMP(type=0, code=0, id=c.flow_id, seq=number) / Raw(segment[8:])
            return bytes(IP(src=DESTINATION, dst=SOURCE, ttl=reply_ttl) / reply)
        if c.method == "udp":
            return bytes(
                IP(src=DESTINATION, dst=SOURCE, ttl=reply_ttl) / ICMP(type=3, code=3) / IP(bytes(probe))
            )
        sequence = struct.unpack_from("!I", bytes(probe.payload), 4)[0]
        answer = TCP(sport=c.port, dport=c.flow_id, seq=1, ack=(sequence + 1) & 0xFFFFFFFF, flags="SA")
        return bytes(IP(src=DESTINATION, dst=SOURCE, ttl=reply_ttl) / answer)

    return build


def silent(c: TraceCodec, number: int, probe: IP) -> None:
    return None


@dataclass
class Run:
    session: TraceSession
    fed: int  # answers handed to the session


def trace(path: list[Answer], method: str = "icmp", **overrides: int) -> Run:
    """Run a session over a scripted path: TTL t is answered by path[t-1] (the last entry
    repeats beyond the list); each round sends what is due, answers it 1 ms later, then lets
    the lost ones expire."""
    c = codec(method)
    options = TracerouteOptions(method=method, port=c.port if method != "icmp" else 0, **overrides)  # type: ignore[arg-type]
    session = TraceSession(options, DESTINATION)
    now = 1_000 * MS
    fed = 0
    for _ in range(200):
        if session.done:
            break
        for number, ttl in session.next_probes(now):
            session.sent(number, now)
            answer = path[min(ttl, len(path)) - 1](c, number, sent_packet(c, number, ttl))
            if answer is None:
                continue
            decoded = c.decode_tcp(answer) if method == "tcp" and answer[9] == 6 else c.decode_icmp(answer)
            assert decoded is not None, f"our codec did not recognise the answer to probe {number}"
            session.answer(decoded, now + MS)
            fed += 1
        now += 1_100 * MS  # past the 1 s timeout
        session.expire(now)
    assert session.done
    return Run(session, fed)


@pytest.mark.parametrize("method", ["icmp", "udp", "tcp"])
def test_a_clean_path_ends_at_the_destination(method: str) -> None:
    run = trace(
        [time_exceeded(router(1)), time_exceeded(router(2)), time_exceeded(router(3)), destination()], method
    )
    details = run.session.details()
    assert details.stop_reason == COMPLETED and details.destination_reached
    assert [hop.addresses for hop in details.hops] == [
        (router(1),),
        (router(2),),
        (router(3),),
        (DESTINATION,),
    ]
    assert all(len(hop.replies) == 3 for hop in details.hops)
    assert details.hops[0].replies[0].icmp_type == 11 and details.hops[0].replies[0].quoted_ttl == 1
    assert details.hops[0].replies[0].rtt_ms == pytest.approx(1.0)
    assert details.unmatched_replies == 0 and details.anomalies == ()


@pytest.mark.parametrize(
    ("path", "stop", "hops", "anomalies"),
    [
        # the third router says host unreachable: the path ends there (!H)
        ([time_exceeded(router(1)), time_exceeded(router(2)), unreachable(router(3), 1)], UNREACHABLE, 3, ()),
        # a firewall's admin-prohibited (!X) at hop 2
        ([time_exceeded(router(1)), unreachable(router(2), 13)], UNREACHABLE, 2, ()),
        # silence after hop 2: five silent hops, then stop (hops 3-7 are in the trace as "*")
        ([time_exceeded(router(1)), time_exceeded(router(2)), silent], GAP_LIMIT, 7, ()),
        # a routing loop: r2, r3, r2, r3, ... — stops the second time r2 answers
        (
            [time_exceeded(router(1))] + [time_exceeded(router(2)), time_exceeded(router(3))] * 10,
            LOOP,
            4,
            (LOOP,),
        ),
        # a hop that does not decrement TTL shows up twice in a row: not a loop
        (
            [time_exceeded(router(1)), time_exceeded(router(1)), time_exceeded(router(2)), destination()],
            COMPLETED,
            4,
            (),
        ),
    ],
    ids=["host-unreachable", "admin-prohibited", "gap-limit", "loop", "repeated-hop-no-loop"],
)
def test_stop_rules(path: list[Answer], stop: str, hops: int, anomalies: tuple[str, ...]) -> None:
    details = trace(path).session.details()
    assert details.stop_reason == stop
    assert len(details.hops) == hops
    assert details.anomalies == anomalies
    assert details.destination_reached is (stop == COMPLETED)


def test_an_unreachable_stops_the_trace_without_waiting_for_its_hop() -> None:
    c = codec()
    session = TraceSession(TracerouteOptions(max_ttl=1), DESTINATION)
    for number, _ in session.next_probes(0):
        session.sent(number, 0)
    answer = c.decode_icmp(unreachable(router(1), 1)(c, 1, sent_packet(c, 1, 1)))
    assert answer is not None
    session.answer(answer, MS)  # probes 0 and 2 still outstanding
    assert session.done and session.stop_reason == UNREACHABLE
    assert [r.lost for r in session.details().hops[0].replies] == [True, False, True]


def test_max_ttl_stops_a_path_that_never_ends() -> None:
    details = trace([time_exceeded(f"198.18.{n}.1") for n in range(1, 40)], max_ttl=8).session.details()
    assert details.stop_reason == MAX_TTL and len(details.hops) == 8


def test_first_ttl_and_probes_per_hop() -> None:
    path = [time_exceeded(router(n)) for n in range(1, 6)] + [destination()]
    details = trace(path, first_ttl=3, probes_per_hop=1).session.details()
    assert [hop.ttl for hop in details.hops] == [3, 4, 5, 6]
    assert [len(hop.replies) for hop in details.hops] == [1, 1, 1, 1]


def test_at_most_probes_in_flight_are_outstanding() -> None:
    session = TraceSession(TracerouteOptions(probes_in_flight=4), DESTINATION)
    first = session.next_probes(0)
    assert [ttl for _, ttl in first] == [1, 1, 1, 2]
    for number, _ in first:
        session.sent(number, 0)
    assert session.next_probes(1) == []
    assert session.next_deadline_ns() == 1000 * MS


# ---------------------------------------------------------------- hostile and broken hops


def test_an_icmp_error_quoting_garbage_is_counted_not_a_crash() -> None:
    c = codec()
    session = TraceSession(TracerouteOptions(), DESTINATION)
    number, _ttl = session.next_probes(0)[0]
    session.sent(number, 0)
    garbage = [
        bytes(IP(src=router(1), dst=SOURCE) / ICMP(type=11, code=0) / Raw(b"\x00" * 28)),  # not IPv4
        bytes(IP(src=router(1), dst=SOURCE) / ICMP(type=11, code=0) / Raw(b"\x45\x00")),  # truncated
        bytes(IP(src=router(1), dst=SOURCE) / ICMP(type=3, code=1) / Raw(b"\x41" + b"\x00" * 27)),  # IHL 1
        bytes(IP(src=router(1), dst=SOURCE) / ICMP(type=11, code=0)),  # nothing quoted
    ]
    for data in garbage:
        answer = c.decode_icmp(data)
        assert answer is not None and answer.probe == -1 and answer.anomaly == packets.GARBAGE_QUOTE
        session.answer(answer, MS)
    # Not ICMP errors at all, or not even IPv4: ignored outright.
    for data in (b"", b"\x60" + b"\x00" * 40, bytes(IP(src=router(1), dst=SOURCE) / ICMP(type=5))):
        assert c.decode_icmp(data) is None
    assert session.unmatched_replies == 4
    session.expire(2000 * MS)
    assert "garbage_quote" in session.details().anomalies


def test_someone_elses_packets_are_not_ours() -> None:
    ours, theirs = codec("udp"), TraceCodec("udp", SOURCE, DESTINATION, flow_id=40002, port=33434)
    other = sent_packet(theirs, 0, 1)
    data = time_exceeded(router(1))(theirs, 0, other)
    assert ours.decode_icmp(data) is None  # another flow: not counted against this trace
    echo_of_another = ICMP(type=0, id=999, seq=0) / Raw(packets.PROBE_TAG)
    assert codec().decode_icmp(bytes(IP(src=DESTINATION, dst=SOURCE) / echo_of_another)) is None


def test_a_hop_that_lies_about_the_quoted_ttl() -> None:
    # Hop 2 quotes our probe with TTL 9, more than the 2 it was sent with: marked, kept.
    run = trace([time_exceeded(router(1)), time_exceeded(router(2), quoted_ttl=9), destination(62)])
    hop = run.session.details().hops[1]
    assert {r.anomaly for r in hop.replies} == {QUOTED_TTL_ABOVE_SENT}
    assert hop.replies[0].quoted_ttl == 9
    assert run.session.details().stop_reason == COMPLETED


def test_a_quote_naming_our_probe_with_another_destination_is_marked() -> None:
    def rewritten(c: TraceCodec, number: int, probe: IP) -> bytes:
        quoted = IP(bytes(probe))
        quoted.dst = "203.0.113.9"
        del quoted.chksum
        return bytes(IP(src=router(2), dst=SOURCE) / ICMP(type=11, code=0) / IP(bytes(quoted)))

    details = trace([time_exceeded(router(1)), rewritten, destination()]).session.details()
    assert {r.anomaly for r in details.hops[1].replies} == {packets.QUOTE_REWRITTEN}


def test_a_quote_naming_a_probe_never_sent_or_answered_twice() -> None:
    c = codec()
    session = TraceSession(TracerouteOptions(), DESTINATION)
    for number, _ in session.next_probes(0):
        session.sent(number, 0)
    never_sent = time_exceeded(router(1))(c, 500, sent_packet(c, 500, 1))
    decoded = c.decode_icmp(never_sent)
    assert decoded is not None and decoded.probe == 500
    session.answer(decoded, MS)
    first = c.decode_icmp(time_exceeded(router(1))(c, 0, sent_packet(c, 0, 1)))
    assert first is not None
    session.answer(first, MS)
    session.answer(first, 2 * MS)  # a duplicate
    assert session.unmatched_replies == 2
    assert session.probes[0].reply is not None and session.probes[0].reply.rtt_ms == 1.0


def test_a_target_answering_at_every_ttl() -> None:
    # Something answers in the destination's name from the first TTL on, though its replies
    # have travelled 10 hops (TTL 54 of 64): reached at hop 1, and said to be suspicious.
    details = trace([destination(reply_ttl=54)]).session.details()
    assert details.stop_reason == COMPLETED and len(details.hops) == 1
    assert details.anomalies == (DESTINATION_AT_EVERY_TTL,)
    # A destination that really is next door answers with a full TTL: no anomaly.
    assert trace([destination(reply_ttl=64)]).session.details().anomalies == ()


def test_hops_travelled() -> None:
    assert [hops_travelled(t) for t in (64, 61, 255, 250, 128, 120, 30)] == [0, 3, 0, 5, 0, 8, 2]


# ---------------------------------------------------------------- packets


@pytest.mark.parametrize("method", ["icmp", "udp", "tcp"])
def test_probes_are_valid_packets_with_constant_flow_fields(method: str) -> None:
    c = codec(method)
    flows = set()
    for number in (0, 1, 2, 57, 1000):
        packet = IP(bytes(sent_packet(c, number, 5)))
        if method == "icmp":
            layer = IP(bytes(IP(src=SOURCE, dst=DESTINATION, proto=1) / Raw(c.pack(number))))[ICMP]
            assert layer.type == 8 and layer.seq == number
            assert internet_checksum(c.pack(number)) == 0  # the checksum is right
            flows.add((layer.type, layer.code, layer.chksum, layer.id))  # what ICMP load balancers hash
        elif method == "udp":
            layer = IP(bytes(IP(src=SOURCE, dst=DESTINATION, proto=17) / Raw(c.pack(number))))[UDP]
            recomputed = UDP(bytes(layer))
            del recomputed.chksum
            rebuilt = IP(bytes(IP(src=SOURCE, dst=DESTINATION) / recomputed))[UDP]
            assert rebuilt.chksum == layer.chksum == number + 1  # scapy agrees the checksum holds
            flows.add((layer.sport, layer.dport))
        else:
            layer = IP(bytes(IP(src=SOURCE, dst=DESTINATION, proto=6) / Raw(c.pack(number))))[TCP]
            assert layer.flags == "S" and layer.seq == (c.seq_base + number) & 0xFFFFFFFF
            recomputed = TCP(bytes(layer))
            del recomputed.chksum
            assert IP(bytes(IP(src=SOURCE, dst=DESTINATION) / recomputed))[TCP].chksum == layer.chksum
            flows.add((layer.sport, layer.dport))
        assert packet.ttl == 5
    assert len(flows) == 1  # Paris: one flow for the whole trace


@pytest.mark.parametrize("declared_length", [0, 32], ids=["rfc4884-compat", "rfc4884-length"])
def test_mpls_label_stacks_from_rfc4950_extensions(declared_length: int) -> None:
    c = codec()
    probe = sent_packet(c, 3, 2)
    extension = ICMPExtensionHeader() / ICMPExtensionMPLS(
        stack=[MPLS(label=16004, cos=0, s=0, ttl=1), MPLS(label=24001, cos=5, s=1, ttl=1)]
    )
    quoted = IP(bytes(probe))
    quoted.ttl = 1
    del quoted.chksum
    message = ICMP(type=11, code=0, length=declared_length, ext=extension) / IP(bytes(quoted))
    data = bytes(IP(src=router(2), dst=SOURCE, ttl=62) / message)
    answer = c.decode_icmp(data)
    assert answer is not None and answer.probe == 3 and answer.anomaly == ""
    assert answer.mpls == (
        packets.MplsEntry(16004, 0, False, 1),
        packets.MplsEntry(24001, 5, True, 1),
    )


def test_a_broken_extension_is_marked_and_the_labels_before_it_kept() -> None:
    c = codec()
    quoted = bytes(sent_packet(c, 0, 1)).ljust(128, b"\0")
    objects = struct.pack("!HBBI", 8, 1, 1, 16 << 12 | 0x1FF) + struct.pack("!HBB", 40, 1, 1)  # 2nd too long
    header = bytearray(struct.pack("!BBH", 0x20, 0, 0) + objects)
    header[2:4] = struct.pack("!H", internet_checksum(bytes(header)))
    icmp = bytearray(struct.pack("!BBHBBH", 11, 0, 0, 0, 32, 0) + quoted + bytes(header))
    data = bytes(IP(src=router(1), dst=SOURCE, proto=1) / Raw(bytes(icmp)))
    answer = c.decode_icmp(data)
    assert answer is not None and answer.anomaly == packets.BAD_EXTENSION
    assert answer.mpls == (packets.MplsEntry(16, 0, True, 255),)


def test_a_probe_number_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        codec().pack(0xFFFF)


def test_invalid_options_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="trace method"):
        TraceSession(TracerouteOptions(method="sctp"), DESTINATION)
    with pytest.raises(ValueError, match="TTLs"):
        TraceSession(TracerouteOptions(first_ttl=9, max_ttl=3), DESTINATION)


# ---------------------------------------------------------------- IPv6

SOURCE6, DESTINATION6 = "fd00:0:0:11::1", "fd00:0:0:100::1"


@pytest.mark.parametrize("method", ["icmp", "udp", "tcp"])
def test_ipv6_answers_without_their_ip_header(method: str) -> None:
    from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6TimeExceeded, IPv6

    port = {"icmp": 0, "udp": 33434, "tcp": 80}[method]
    c = TraceCodec(method, SOURCE6, DESTINATION6, flow_id=40001, port=port, seq_base=7)
    assert c.family == 6 and c.packet_bytes == 40 + len(c.pack(0))
    session = TraceSession(TracerouteOptions(method=method, port=port, probes_per_hop=1), DESTINATION6)
    nh = {"icmp": 58, "udp": 17, "tcp": 6}[method]
    for number, ttl in session.next_probes(0):
        session.sent(number, 0)
        probe = IPv6(src=SOURCE6, dst=DESTINATION6, hlim=1, nh=nh) / Raw(c.pack(number))
        if ttl < 3:  # routers: time exceeded quoting the probe (the raw socket gives the ICMPv6 part)
            answer = c.decode_icmp(bytes(ICMPv6TimeExceeded() / probe), f"fd00:0:0:{10 + ttl}::2", 64 - ttl)
        elif method == "icmp":
            reply = ICMPv6EchoReply(id=c.flow_id, seq=number, data=c.pack(number)[8:])
            answer = c.decode_icmp(bytes(reply), DESTINATION6, 62)
        elif method == "udp":
            answer = c.decode_icmp(bytes(ICMPv6DestUnreach(code=4) / probe), DESTINATION6, 62)
        else:
            syn_ack = TCP(sport=80, dport=c.flow_id, ack=c.seq_base + number + 1, flags="SA")
            answer = c.decode_tcp(bytes(syn_ack), DESTINATION6, 62)
        assert answer is not None and answer.probe == number
        session.answer(answer, MS)
        if session.done:
            break
    details = session.details()
    assert details.stop_reason == COMPLETED
    assert [hop.addresses for hop in details.hops] == [
        ("fd00:0:0:11::2",),
        ("fd00:0:0:12::2",),
        (DESTINATION6,),
    ]
    assert details.hops[0].replies[0].quoted_ttl == 1 and details.hops[0].replies[0].reply_ttl == 63


def test_ipv6_unreachable_and_the_constant_icmpv6_checksum() -> None:
    from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoRequest, IPv6

    c = TraceCodec("icmp", SOURCE6, DESTINATION6, flow_id=40001, port=0)
    checksums = set()
    for number in (0, 1, 99):
        packet = IPv6(bytes(IPv6(src=SOURCE6, dst=DESTINATION6, nh=58) / Raw(c.pack(number))))
        echo = packet[ICMPv6EchoRequest]
        recomputed = ICMPv6EchoRequest(bytes(echo))
        del recomputed.cksum
        # What the kernel will write (it always computes the ICMPv6 checksum) is our constant.
        checksums.add(IPv6(bytes(IPv6(src=SOURCE6, dst=DESTINATION6) / recomputed))[ICMPv6EchoRequest].cksum)
    assert checksums == {c.icmp_checksum}
    session = TraceSession(TracerouteOptions(max_ttl=1), DESTINATION6)
    for number, _ in session.next_probes(0):
        session.sent(number, 0)
    probe = IPv6(src=SOURCE6, dst=DESTINATION6, hlim=1, nh=58) / Raw(c.pack(0))
    answer = c.decode_icmp(bytes(ICMPv6DestUnreach(code=3) / probe), "fd00:0:0:11::2", 64)
    assert answer is not None
    session.answer(answer, MS)
    assert session.stop_reason == UNREACHABLE
    assert c.decode_icmp(bytes(ICMPv6DestUnreach(code=3) / Raw(b"\x45" + b"\0" * 39)), "fd00::9", 64) == (
        packets.TraceAnswer(-1, "fd00::9", 1, 3, 0, 64, anomaly=packets.GARBAGE_QUOTE)
    )
