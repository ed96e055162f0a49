"""The recvmmsg reader against recvmsg's view of the same datagrams (UDP over loopback)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from vantage.probe.engine.icmp import recvmmsg as icmp_recvmmsg
from vantage.probe.engine.icmp.sockets import IP_RECVTTL, SO_TIMESTAMPNS, ancillary_facts, sockaddr_address

pytestmark = pytest.mark.skipif(not icmp_recvmmsg.available(), reason="no recvmmsg through ctypes here")
TIMESTAMP = (socket.SOL_SOCKET, SO_TIMESTAMPNS)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.bind(("127.0.0.1", 0))
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        receiver.setsockopt(*TIMESTAMP, 1)
        receiver.setblocking(False)
        sender.connect(receiver.getsockname())
        yield receiver, sender
    finally:
        receiver.close()
        sender.close()


def test_every_queued_datagram_comes_with_its_kernel_time(pair: tuple[socket.socket, socket.socket]) -> None:
    receiver, sender = pair
    payloads = [bytes([i % 251]) * (1 + i % 700) for i in range(icmp_recvmmsg.BATCH + 44)]
    before = time.time_ns()
    for payload in payloads:
        sender.send(payload)
    after = time.time_ns()
    # recvmsg's view of the first datagram, left queued (MSG_PEEK), to compare with the reader's.
    first, ancdata, _flags, _address = receiver.recvmsg(2048, 128, socket.MSG_PEEK)
    first_ns, _ttl = ancillary_facts(ancdata)
    reader = icmp_recvmmsg.MessageReader(receiver, TIMESTAMP)
    read: list[bytes] = []
    times: list[int] = []
    counts = []
    while count := reader.read():
        counts.append(count)
        for i, data, received_ns, others in reader.messages(count):
            assert others == [] and sockaddr_address(reader.sender(i)) == "127.0.0.1"
            read.append(data)
            times.append(received_ns)
    assert counts == [icmp_recvmmsg.BATCH, 44]
    assert read == payloads
    assert first == payloads[0] and times[0] == first_ns > 0
    # Only plausibility for the rest: this kernel's loopback UDP stamps are not even in arrival
    # order (they jitter by a millisecond or two against each other and the process's clock).
    assert all(before - 50_000_000 < at < after + 50_000_000 for at in times)


def test_other_control_messages_come_as_recvmsg_returns_them(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    receiver, sender = pair
    receiver.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    sender.send(b"one")
    sender.send(b"two")
    reader = icmp_recvmmsg.MessageReader(receiver, TIMESTAMP)
    assert reader.read() == 2
    (_, first, received_ns, others), _ = list(reader.messages(2))
    assert first == b"one" and received_ns == 0
    received_ns, ttl = ancillary_facts(others)
    assert received_ns > 0 and ttl == 64
    assert reader.read() == 0
