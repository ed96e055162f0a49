"""A measurement's share of the run's rate cap, spent per packet or connection attempt (asyncio edge).

The engine takes one token from the run's Pacer (engine/pacing.py) to start each DNS, HTTP, TCP
or traceroute measurement: that token pays for the measurement's first packet or connection
attempt. Everything a measurement sends beyond it is paid here before it is sent: the HTTP
engine's own DNS queries (A and AAAA, for every nameserver asked), every connection of every
redirect hop, every happy-eyeballs attempt, the second connection of an --insecure handshake,
a DNS query's TCP fallback, and the SYN retransmissions of every TCP connect (connect_tcp).
Before this, the cap counted measurement starts: at --max-rate 10 a redirecting target got 59
connections/s and a port that drops SYNs 56-60 SYN/s (issue 19).

SYN retransmissions (connect_tcp): each connect attempt is made with TCP_SYNCNT=1, so the
kernel sends the SYN and at most one retransmission (after the initial RTO, 1 s on Linux:
TCP_TIMEOUT_INIT, RFC 6298 section 2.1) and gives up with ETIMEDOUT after 3 s. The attempt
pays for both SYNs before the first is sent, and gets one token back when it ended (connected,
refused, or abandoned) before the retransmission was due. While the measurement's time lasts,
a timed-out attempt is followed by a new one, paid again, through the cap. This was chosen over
aborting each attempt below the first retransmission: a path whose SYN-ACK takes longer than
the initial RTO (a satellite link under load, a congested uplink in a shutdown) still connects,
as it does with curl, and the kernel's own schedule (SYNs at 0, 1, 3, 4... s) is kept; the
price is that a connect that is still pending holds a token it may not use for up to 1 s.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time

from vantage.probe.engine.pacing import Pacer

# Linux's initial retransmission timeout of a SYN (include/net/tcp.h TCP_TIMEOUT_INIT, RFC 6298).
INITIAL_RTO_S = 1.0
# SYNs one connect attempt may send: the SYN and the one retransmission TCP_SYNCNT=1 allows.
SYNS_PER_ATTEMPT = 2


class Budget:
    """What one measurement sends, paid from the run's Pacer; the engine paid the first packet.

    `pacer` None (a driver called outside an engine run, as some tests do) paces nothing.
    """

    def __init__(self, pacer: Pacer | None, prepaid: int = 1) -> None:
        self._pacer = pacer
        self._prepaid = prepaid
        self.spent = 0  # packets and attempts paid for, the prepaid one included

    async def spend(self, count: int = 1) -> float:
        """Wait until `count` more packets may be sent; the seconds waited."""
        self.spent += count
        from_prepaid = min(self._prepaid, count)
        self._prepaid -= from_prepaid
        missing = count - from_prepaid
        pacer = self._pacer
        if pacer is None or missing <= 0:
            return 0.0
        started = time.monotonic()
        while True:
            missing -= pacer.take(time.monotonic_ns(), missing)
            if missing <= 0:
                return time.monotonic() - started
            await asyncio.sleep(max(0, pacer.next_token_ns() - time.monotonic_ns()) / 1e9)

    def refund(self, count: int = 1) -> None:
        """Give back packets paid for and never sent."""
        self.spent -= count
        if self._pacer is not None:
            self._pacer.give_back(count)


async def connect_tcp(
    address: str,
    port: int,
    budget: Budget,
    *,
    paid: bool = False,
    options: tuple[tuple[int, int, int], ...] = (),
) -> socket.socket:
    """A connected non-blocking TCP socket to (address, port), every SYN paid from `budget`.

    `paid`: the first attempt's SYNS_PER_ATTEMPT were already spent (the caller paced before
    taking its timestamp). `options`: setsockopt (level, name, value) triples applied before the
    connect. Raises what connect raises; a kernel time-out (ETIMEDOUT after its retransmission)
    starts a new attempt, so only the caller's own deadline (asyncio.timeout) ends the waiting.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    first = True
    while True:
        if not (first and paid):
            await budget.spend(SYNS_PER_ATTEMPT)
        first = False
        sock = socket.socket(family, socket.SOCK_STREAM)
        started = time.monotonic()
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, SYNS_PER_ATTEMPT - 1)
            for level, name, value in options:
                sock.setsockopt(level, name, value)
            await loop.sock_connect(sock, (address, port))
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno == errno.ETIMEDOUT:
                continue  # the kernel gave up; the caller's deadline decides whether to go on
            raise
        except BaseException:
            sock.close()
            raise
        finally:
            if time.monotonic() - started < INITIAL_RTO_S:
                budget.refund(SYNS_PER_ATTEMPT - 1)  # over before the retransmission was due
