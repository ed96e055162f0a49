"""A measurement's share of the run's rate cap, spent per packet or connection attempt (asyncio edge).

The engine takes one token from the run's Pacer (engine/pacing.py) to start each DNS, HTTP, TCP
or traceroute measurement: that token pays for the measurement's first packet or connection
attempt. Everything a measurement sends beyond it is paid here before it is sent: the HTTP
engine's own DNS queries (A and AAAA, for every nameserver asked), every connection of every
redirect hop, every happy-eyeballs attempt, the second connection of an --insecure handshake,
a DNS query's TCP fallback, and the SYN retransmissions of every TCP connect (connect_tcp).
Before this, the cap counted measurement starts: at --max-rate 10 a redirecting target got 59
connections/s and a port that drops SYNs 56-60 SYN/s (issue 19).

SYN retransmissions (connect_tcp): each connect attempt is made with TCP_SYNCNT=1 (the
kernel gives up with ETIMEDOUT 3 s after the SYN) and pays for its SYN and first retransmission
before the SYN is sent. Every later retransmission is paid one SYN ahead of the kernel: once
the last paid SYN may leave, the next is paid before the soonest moment the kernel could send
it (synledger.py, from TCP_INFO's RTO and retransmission count); when the cap has no token by
then, the attempt is closed before that moment and a new one, paid again, follows while the
measurement's time lasts. When the attempt ends (connected, refused, timed out, abandoned) the
SYNs it paid for and cannot have sent go back to the cap. So the SYNs sent never outnumber the
tokens paid, whatever the kernel's schedule: counting TCP_SYNCNT=1 as "the SYN and one
retransmission" did not hold since Linux 6.5 (tcp_syn_linear_timeouts: SYNs at 0, 1 and 2 s),
and at --max-rate 10 a third of a SYN-dropping port's SYNs went out unpaid.
This was chosen over aborting each attempt below its first retransmission: a path whose
SYN-ACK takes longer than the initial RTO (a satellite link under load, a congested uplink in a
shutdown) still connects, as it does with curl, and the kernel's own schedule is kept; the
price is that a pending connect holds a token it may not use for up to one RTO.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time

from vantage.probe.engine.pacing import Pacer
from vantage.probe.engine.synledger import SynLedger

# SYNs an attempt pays for before its SYN is sent: the SYN and its first retransmission (each
# later one is paid while the one before is pending).
SYNS_PER_ATTEMPT = 2
# The kernel gives up an attempt whose SYN-ACK does not come 3 s after its SYN (tcp_timer.c
# retransmits_timed_out: (2 << 1) - 1 initial RTOs), and the measurement makes a new one.
TCP_SYNCNT = 1

# struct tcp_info (include/uapi/linux/tcp.h): eight one-byte fields, then u32s, of which these
# (by index): tcpi_rto, the current retransmission timeout in µs; tcpi_rtt, the smoothed RTT in
# µs; tcpi_total_retrans, the retransmissions sent (SYNs included).
_TCP_INFO = struct.Struct("=8x24I")
TCPI_RTO, TCPI_RTT, TCPI_TOTAL_RETRANS = 0, 15, 23


class Budget:
    """What one measurement sends, paid from the run's Pacer; the engine paid the first packet.

    `pacer` None (a driver called outside an engine run, as some tests do) paces nothing.
    """

    def __init__(self, pacer: Pacer | None, prepaid: int = 1) -> None:
        self._pacer = pacer
        self._prepaid = prepaid
        self.spent = 0  # packets and attempts paid for, the prepaid one included

    async def spend(self, count: int = 1) -> float:
        """Wait until `count` more packets may be sent; the seconds waited.

        Cancelled while waiting (the measurement's deadline), it gives back what it took: none
        of the `count` was sent.
        """
        from_prepaid = min(self._prepaid, count)
        self._prepaid -= from_prepaid
        missing = count - from_prepaid
        pacer = self._pacer
        if pacer is None or missing <= 0:
            self.spent += count
            return 0.0
        started = time.monotonic()
        taken = 0
        try:
            while True:
                taken += pacer.take(time.monotonic_ns(), missing - taken)
                if taken >= missing:
                    self.spent += count
                    return time.monotonic() - started
                await asyncio.sleep(max(0, pacer.next_token_ns() - time.monotonic_ns()) / 1e9)
        except BaseException:
            pacer.give_back(taken + from_prepaid)
            raise

    def refund(self, count: int = 1) -> None:
        """Give back packets paid for and never sent."""
        self.spent -= count
        if self._pacer is not None:
            self._pacer.give_back(count)

    def take_now(self) -> bool:
        """Pay one more packet if the cap has a token now (never waits)."""
        if self._prepaid > 0:
            self._prepaid -= 1
        elif self._pacer is not None and self._pacer.take(time.monotonic_ns(), 1) == 0:
            return False
        self.spent += 1
        return True

    def next_token_s(self) -> float:
        """When (time.monotonic) take_now may succeed again."""
        if self._pacer is None or self._prepaid > 0:
            return time.monotonic()
        return self._pacer.next_token_ns() / 1e9

    def settle(self, paid: int, sent: int) -> None:
        """`paid` packets were paid for, at most `sent` went out: refund the rest, or charge
        the cap for those sent beyond it (the event loop ran a close too late)."""
        if paid > sent:
            self.refund(paid - sent)
        elif sent > paid:
            self.spent += sent - paid
            if self._pacer is not None:
                self._pacer.charge(sent - paid)


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
    connect. Raises what connect raises; a kernel time-out (ETIMEDOUT) or a retransmission the
    cap could not pay in time starts a new attempt, so only the caller's own deadline
    (asyncio.timeout) ends the waiting.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    first = True
    while True:
        if not (first and paid):
            await budget.spend(SYNS_PER_ATTEMPT)
        first = False
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, TCP_SYNCNT)
            for level, name, value in options:
                sock.setsockopt(level, name, value)
            if await _attempt(sock, (address, port), budget):
                return sock
        except BaseException:
            sock.close()
            raise
        sock.close()


async def _attempt(sock: socket.socket, peer: tuple[str, int], budget: Budget) -> bool:
    """One connect attempt whose SYNS_PER_ATTEMPT are paid, each later SYN paid before it
    may leave. True: connected; False: the kernel gave up or the cap had no token in time.
    Raises the other errors of connect."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    error = sock.connect_ex(peer)
    ledger = SynLedger(started, _reading(sock)[1], SYNS_PER_ATTEMPT)
    if error not in (0, errno.EINPROGRESS):
        budget.settle(ledger.paid, 1)
        raise OSError(error, os.strerror(error))
    done: asyncio.Future[None] = loop.create_future()
    if error == 0:
        done.set_result(None)
    else:
        loop.add_writer(sock.fileno(), _set_done, done)
    try:
        while not done.done():
            now = time.monotonic()
            if now < ledger.pay_from_s():
                wake = ledger.pay_from_s()
            elif budget.take_now():
                ledger.paid += 1
                continue
            elif now < ledger.pay_by_s():
                wake = min(ledger.pay_by_s(), budget.next_token_s())
            else:
                return False  # no token before the kernel may retransmit: close it first
            await _done_or_timeout(done, max(0.0, wake - time.monotonic()))
            ledger.observe(*_reading(sock))
    finally:
        loop.remove_writer(sock.fileno())
        ledger.observe(*_reading(sock))
        budget.settle(ledger.paid, ledger.may_have_sent(time.monotonic(), pending=not done.done()))
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error == 0:
        return True
    if error == errno.ETIMEDOUT:
        return False  # the kernel gave up; the caller's deadline decides whether to go on
    raise OSError(error, os.strerror(error))


async def _done_or_timeout(done: asyncio.Future[None], timeout_s: float) -> None:
    """`await asyncio.wait((done,), timeout=timeout_s)` without the sets and the coroutine
    asyncio.wait builds around one future: a waiter woken by `done` or by the timer (every
    connection waits here once at least; issue 18: CPU per request)."""
    if done.done():
        return
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    done.add_done_callback(wake)
    timer = loop.call_later(timeout_s, wake)
    try:
        await waiter
    finally:
        timer.cancel()
        done.remove_done_callback(wake)


def _set_done(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def tcp_info(sock: socket.socket) -> tuple[int, ...]:
    """The u32 fields of a TCP socket's struct tcp_info (index them with TCPI_*)."""
    return _TCP_INFO.unpack(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size))


def _reading(sock: socket.socket) -> tuple[int, float]:
    """The retransmissions a connecting socket sent and its current RTO (s)."""
    info = tcp_info(sock)
    return info[TCPI_TOTAL_RETRANS], info[TCPI_RTO] / 1e6
