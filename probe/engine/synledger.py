"""Which SYNs of one TCP connect attempt the kernel may have sent, and by when (pure).

The rate cap must pay for a SYN before the kernel sends it, but the kernel, not the probe,
sends the retransmissions, on a schedule that changed under us: Linux 6.5 made the first
`net.ipv4.tcp_syn_linear_timeouts` (default 4) SYN timeouts linear and added that number to
the retransmissions TCP_SYNCNT allows, so TCP_SYNCNT=1 sends SYNs at 0, 1 and 2 s, not at 0
and 1 s (measured on 6.18: three SYNs, ETIMEDOUT at 3 s). Rather than trust one schedule, the
ledger bounds what any schedule can do, from three facts:

* the SYN leaves during connect(), so after `started_s`, taken before the call;
* each later SYN leaves when the retransmission timer armed after the one before fires, that
  is no sooner than its RTO (TCP_INFO tcpi_rto) after it, less one jiffy of timer rounding
  (KERNEL_EARLY_S covers HZ=100's 10 ms with room);
* while no SYN-ACK came, the RTO only stays or doubles (no RTT sample can lower it), and
  tcpi_total_retrans counts the retransmissions sent.

So if SYN `seen` left no sooner than `seen_not_before_s` and the RTO armed after it is `rto_s`,
SYN j > seen cannot leave before seen_not_before_s + (j - seen) * (rto_s - KERNEL_EARLY_S).
The connect pays each SYN before that instant (engine/paced.py), one SYN ahead of the kernel,
and closes the socket CLOSE_GUARD_S before it when the cap has no token for it.
"""

from __future__ import annotations

# How much earlier than its RTO after the SYN before a retransmission can leave: the kernel's
# timers count jiffies (1-10 ms), so one armed at jiffy j fires up to a jiffy early in real time.
KERNEL_EARLY_S = 0.05
# How long before a retransmission may leave an attempt whose token could not be paid is
# closed: the event loop's lateness in running the close (asyncio's timers are good to ~1 ms;
# this leaves room for a loaded machine).
CLOSE_GUARD_S = 0.1


class SynLedger:
    """One attempt's SYNs: those paid, those the kernel may have sent by a given time.

    SYNs are numbered 0 (the SYN) to n (its n-th retransmission). `paid`: how many of them,
    from 0 on, were paid for.
    """

    __slots__ = ("paid", "rto_s", "seen", "seen_not_before_s")

    def __init__(self, started_s: float, rto_s: float, paid: int) -> None:
        self.seen = 0  # the last SYN known to have left (tcpi_total_retrans)
        self.seen_not_before_s = started_s  # when it left, at the earliest
        self.rto_s = rto_s  # the RTO the kernel armed after SYN `seen`
        self.paid = paid

    def observe(self, retransmitted: int, rto_s: float) -> None:
        """A TCP_INFO reading: tcpi_total_retrans and tcpi_rto (in seconds)."""
        if retransmitted > self.seen:
            self.seen_not_before_s = self.earliest_s(retransmitted)
            self.seen = retransmitted
        self.rto_s = rto_s

    def earliest_s(self, syn: int) -> float:
        """The soonest SYN number `syn` can leave (for a SYN already seen, a lower bound)."""
        if syn <= self.seen:
            return self.seen_not_before_s
        return self.seen_not_before_s + (syn - self.seen) * (self.rto_s - KERNEL_EARLY_S)

    def pay_from_s(self) -> float:
        """When to start paying the next SYN: once the last paid one may leave (one ahead)."""
        return self.earliest_s(self.paid - 1)

    def pay_by_s(self) -> float:
        """The last moment to have paid the next SYN; past it the attempt must be closed."""
        return self.earliest_s(self.paid) - CLOSE_GUARD_S

    def may_have_sent(self, now_s: float, pending: bool) -> int:
        """How many SYNs may have left by `now_s`, the socket being closed right after.

        `pending`: the kernel may still retransmit (no SYN-ACK, reset or give-up yet); then a
        SYN due but not yet counted by the last reading may leave before the close.
        """
        sent = self.seen + 1
        if pending and self.earliest_s(self.seen + 1) <= now_s:
            sent += 1
        return sent
