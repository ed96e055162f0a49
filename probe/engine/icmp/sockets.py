"""Opening and reading the one ICMP socket per address family (I/O edge).

A raw socket (root or CAP_NET_RAW) sees every ICMP message, errors included; an unprivileged
ICMP datagram socket (Linux `net.ipv4.ping_group_range`) only our own echo replies, with the
identifier chosen by the kernel. The receive buffer is raised to several MB
(SO_RCVBUFFORCE when privileged): during a sweep replies arrive in bursts while the event loop
is busy sending, and a default-size buffer drops most of them (docs/probe-engine.md).
Replies are timestamped by the kernel (SO_TIMESTAMPNS, CLOCK_REALTIME) so that RTTs do not
include the time a reply waited in the buffer; send times use the same clock.
"""

from __future__ import annotations

import socket
import struct
import sys
from dataclasses import dataclass

# Linux constants the socket module does not export (include/uapi/asm-generic/socket.h,
# include/uapi/linux/in.h, include/uapi/linux/icmpv6.h).
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35
IP_RECVTTL = 12
IP_TTL = 2
IP_RECVERR = 11
IPV6_RECVERR = 25
ICMP6_FILTER = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3

# The kernel doubles the value set and charges each queued reply its whole sk_buff: 8 MB held
# 20,165 replies of 84 bytes on the netns bench (≈ 830 bytes each), ≈ 0.25 s of the fastest
# sweep if the loop stalls (docs/probe-engine.md: "a receive buffer of a few MB").
DEFAULT_RECEIVE_BUFFER_BYTES = 8 << 20
# A forked sender (engine/icmp/fork.py) does not wait for the reader at all: the buffer must ride out
# the reader being descheduled or busy printing on a shared machine. 32 MB: ≈ 80k replies, a
# whole /16. Memory is only used by replies actually queued.
FORKED_RECEIVE_BUFFER_BYTES = 32 << 20
TIMESPEC = struct.Struct("@qq")
_INT = struct.Struct("@i")
# struct sock_extended_err (include/uapi/linux/errqueue.h), followed by the offender's sockaddr.
_EXTENDED_ERROR = struct.Struct("=IBBBBII")


class IcmpUnavailable(Exception):
    """Neither a raw ICMP socket nor an unprivileged ICMP datagram socket could be opened."""


@dataclass(slots=True)
class IcmpSocket:
    sock: socket.socket
    family: int  # 4 or 6
    raw: bool

    @property
    def has_ip_header(self) -> bool:
        return self.raw and self.family == 4

    @property
    def kernel_ident(self) -> int | None:
        """On a datagram socket the kernel's identifier (the bound "port"), else None."""
        return None if self.raw else int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


def open_icmp_socket(family: int, receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES) -> IcmpSocket:
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    proto = socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6
    errors: list[str] = []
    for kind, raw in ((socket.SOCK_RAW, True), (socket.SOCK_DGRAM, False)):
        try:
            sock = socket.socket(af, kind, proto)
        except OSError as exc:
            errors.append(f"{'raw' if raw else 'datagram'}: {exc.strerror or exc}")
            continue
        _configure(sock, family, raw, receive_buffer_bytes)
        return IcmpSocket(sock, family, raw)
    raise IcmpUnavailable(
        f"cannot open an ICMPv{family} socket ({'; '.join(errors)}). Either run as root or give the "
        "program CAP_NET_RAW (e.g. `setcap cap_net_raw+ep` on the Python binary), or allow unprivileged "
        "ICMP sockets for your group: `sysctl -w net.ipv4.ping_group_range='0 2147483647'`"
    )


def set_receive_buffer(sock: socket.socket, receive_buffer_bytes: int) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, receive_buffer_bytes)
    except OSError:  # not privileged: the kernel caps SO_RCVBUF at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)


def _configure(sock: socket.socket, family: int, raw: bool, receive_buffer_bytes: int) -> None:
    sock.setblocking(False)
    set_receive_buffer(sock, receive_buffer_bytes)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if not raw:
        # Bind now so that the kernel picks the identifier (the "port") before the first send:
        # the codec must know it to recognise replies.
        sock.bind(("0.0.0.0", 0) if family == 4 else ("::", 0))
        # A datagram socket never reads ICMP errors as packets: the kernel queues them on the
        # socket's error queue, with the request they answer, when IP(V6)_RECVERR is set.
        if family == 4:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    if family == 4 and not raw:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    if family == 6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        if raw:
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, icmp6_filter_passing({1, 2, 3, 4, 129}))


def icmp6_filter_passing(types: set[int]) -> bytes:
    """An ICMP6_FILTER that blocks every type but `types` (RFC 3542 §3.2: a set bit blocks)."""
    words = [0xFFFFFFFF] * 8
    for icmp_type in types:
        words[icmp_type >> 5] &= ~(1 << (icmp_type & 31))
    return struct.pack("@8I", *words)


def ancillary_facts(ancdata: list[tuple[int, int, bytes]]) -> tuple[int, int]:
    """(kernel receive time in ns or 0, TTL / hop limit or -1) from recvmsg's ancillary data."""
    received_ns = 0
    ttl = -1
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(data)
            received_ns = seconds * 1_000_000_000 + nanoseconds
        elif (level == socket.IPPROTO_IP and kind == IP_TTL) or (
            level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT
        ):
            ttl = _INT.unpack_from(data)[0] if len(data) >= 4 else data[0]
    return received_ns, ttl


@dataclass(frozen=True, slots=True)
class QueuedError:
    """An ICMP error from a datagram socket's error queue: our request and what came back."""

    request: bytes  # the echo request as sent (ICMP header and payload)
    destination: str  # where the request went
    icmp_type: int
    code: int
    offender: str  # the router or host that sent the error


def read_error_queue(sock: socket.socket, limit: int = 1024) -> list[QueuedError]:
    """Drain (up to `limit`) ICMP errors queued on a datagram ICMP socket (IP_RECVERR)."""
    found: list[QueuedError] = []
    for _ in range(limit):
        try:
            data, ancdata, _flags, address = sock.recvmsg(2048, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        for level, kind, payload in ancdata:
            if (level, kind) not in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
                continue
            if len(payload) < _EXTENDED_ERROR.size:
                continue
            _errno, origin, icmp_type, code, _pad, _info, _data = _EXTENDED_ERROR.unpack_from(payload)
            if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                continue  # a local error (e.g. message too long), not an answer from the network
            found.append(QueuedError(data, str(address[0]), icmp_type, code, sockaddr_address(payload[16:])))
    return found


def sockaddr_address(sockaddr: bytes) -> str:
    """The address in a struct sockaddr_in / sockaddr_in6 (SO_EE_OFFENDER)."""
    if len(sockaddr) >= 8 and int.from_bytes(sockaddr[0:2], sys.byteorder) == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if len(sockaddr) >= 24 and int.from_bytes(sockaddr[0:2], sys.byteorder) == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return ""
