"""One trace's logic: which probe to send next, what came back, when to stop (pure).

Theory of operation. Probes are numbered in sending order: probe n has TTL
first_ttl + n // probes_per_hop. Up to `probes_in_flight` probes are outstanding at once
(traceroute(8)'s -N, 16 by default), so a 10-hop trace takes about one timeout plus the RTT,
not ten. A probe is lost `timeout` after it left. Hops are judged in TTL order once every
probe of a hop is answered or lost, and the trace stops at the first of:

* completed: the destination itself answered (echo reply, port unreachable from it, SYN-ACK or
  RST);
* unreachable: a hop answered destination unreachable (other than the destination's own port
  unreachable to a UDP probe): the path ends there (!H, !N, !X in traceroute(8));
* loop: an address answers again at a later hop, not just the next one (scamper's loop stop);
* gap_limit: `max_silent_hops` hops in a row without any answer;
* max_ttl: the last TTL was tried.

Probes of higher TTLs still outstanding when the trace stops are not waited for. Hostile
or broken answers are data, not errors: an ICMP error quoting garbage (trace anomaly
`garbage_quote`), one naming a probe never sent, or a second answer to a probe is counted in
`unmatched_replies` (someone else's well-formed packets are not ours to count);
a hop whose quote names our probe but claims it arrived with more TTL than we sent it with is
marked `quoted_ttl_above_sent`; a quote with another destination `quote_rewritten`
(packets.py). "destination_at_every_ttl": the destination answered already at the first TTL,
though its replies' own TTL says they came from further away: something on the path answers
in its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vantage.probe.engine.model import (
    NS_PER_MS,
    MplsLabel,
    TraceHop,
    TraceReply,
    TracerouteDetails,
    TracerouteOptions,
)
from vantage.probe.engine.traceroute.packets import ICMP4, IcmpNumbers, TraceAnswer, icmp_numbers

COMPLETED = "completed"
UNREACHABLE = "unreachable"
LOOP = "loop"
GAP_LIMIT = "gap_limit"
MAX_TTL = "max_ttl"
STOP_REASONS = (COMPLETED, UNREACHABLE, LOOP, GAP_LIMIT, MAX_TTL)

QUOTED_TTL_ABOVE_SENT = "quoted_ttl_above_sent"
DESTINATION_AT_EVERY_TTL = "destination_at_every_ttl"
# Initial TTLs in use (Linux/BSD 64, Windows 128, network gear 255; 32 on some old stacks):
# the hops a reply travelled is the next of these above its TTL, minus its TTL.
INITIAL_TTLS = (32, 64, 128, 255)
# Return paths are often a few hops longer than forward ones; more than this and the
# destination answering at the first TTL cannot be the destination.
RETURN_PATH_SLACK_HOPS = 2


def hops_travelled(reply_ttl: int) -> int:
    return next(initial for initial in INITIAL_TTLS if initial >= reply_ttl) - reply_ttl


@dataclass(slots=True)
class _Probe:
    number: int
    ttl: int
    sent_ns: int = -1  # -1: not sent yet
    reply: TraceReply | None = None

    @property
    def outstanding(self) -> bool:
        return self.reply is None and self.sent_ns >= 0


@dataclass(slots=True)
class TraceSession:
    """The book-keeping of one trace; time comes in as arguments (ns, one monotonic clock)."""

    options: TracerouteOptions
    destination: str
    probes: list[_Probe] = field(default_factory=list)
    unmatched_replies: int = 0
    stop_reason: str = ""
    stop_ttl: int = 0
    _judged_ttl: int = 0  # hops up to this TTL have been judged
    _silent_run: int = 0
    _seen_at: dict[str, int] = field(default_factory=dict)  # address -> last TTL it answered at
    _anomalies: list[str] = field(default_factory=list)
    _icmp: IcmpNumbers = ICMP4

    def __post_init__(self) -> None:
        problem = self.options.problem()
        if problem is not None:
            raise ValueError(problem)
        self._judged_ttl = self.options.first_ttl - 1
        self._icmp = icmp_numbers(6 if ":" in self.destination else 4)

    # ------------------------------------------------------------ sending

    @property
    def total_probes(self) -> int:
        return self.options.max_probes

    def ttl_of(self, number: int) -> int:
        return self.options.first_ttl + number // self.options.probes_per_hop

    def in_flight(self, now_ns: int) -> int:
        return sum(1 for p in self.probes if p.outstanding)

    def next_probes(self, now_ns: int, limit: int | None = None) -> list[tuple[int, int]]:
        """(number, ttl) of the probes to send now (at most `limit`); the caller reports each
        with sent()."""
        if self.done:
            return []
        room = self.options.probes_in_flight - self.in_flight(now_ns)
        if limit is not None:
            room = min(room, limit)
        due: list[tuple[int, int]] = []
        while room > 0 and len(self.probes) < self.total_probes:
            number = len(self.probes)
            ttl = self.ttl_of(number)
            if self.stop_ttl and ttl > self.stop_ttl:
                break
            self.probes.append(_Probe(number, ttl))
            due.append((number, ttl))
            room -= 1
        return due

    def sent(self, number: int, sent_ns: int) -> None:
        self.probes[number].sent_ns = sent_ns

    # ------------------------------------------------------------ answers

    def answer(self, answer: TraceAnswer, received_ns: int) -> None:
        """Book what came back; an answer to no outstanding probe only counts as unmatched."""
        number = answer.probe
        if not 0 <= number < len(self.probes) or self.probes[number].sent_ns < 0:
            self.unmatched_replies += 1
            if answer.anomaly and answer.anomaly not in self._anomalies:
                self._anomalies.append(answer.anomaly)  # garbage_quote
            return
        probe = self.probes[number]
        if probe.reply is not None:  # a second answer (duplicate, or a late one after "lost")
            self.unmatched_replies += 1
            return
        anomaly = answer.anomaly
        if answer.quoted_ttl > probe.ttl and not anomaly:
            anomaly = QUOTED_TTL_ABOVE_SENT
        probe.reply = TraceReply(
            lost=False,
            from_address=answer.from_address,
            rtt_ms=max(0, received_ns - probe.sent_ns) / NS_PER_MS,
            icmp_type=answer.icmp_type,
            icmp_code=answer.icmp_code,
            quoted_ttl=answer.quoted_ttl,
            reply_ttl=answer.reply_ttl,
            mpls=tuple(MplsLabel(*entry) for entry in answer.mpls),
            anomaly=anomaly,
            tcp_flags=answer.tcp_flags,
        )
        self._judge()

    def unmatched(self) -> None:
        """An ICMP message that came in during the trace and named none of its probes."""
        self.unmatched_replies += 1

    def expire(self, now_ns: int) -> None:
        """Mark probes lost whose time is up."""
        timeout_ns = int(self.options.timeout_ms * NS_PER_MS)
        for probe in self.probes:
            if probe.outstanding and now_ns - probe.sent_ns >= timeout_ns:
                probe.reply = TraceReply(lost=True)
        self._judge()

    def next_deadline_ns(self) -> int | None:
        """When the next outstanding probe is lost; None when none is outstanding."""
        timeout_ns = int(self.options.timeout_ms * NS_PER_MS)
        pending = [p.sent_ns for p in self.probes if p.outstanding]
        return min(pending) + timeout_ns if pending else None

    @property
    def done(self) -> bool:
        return bool(self.stop_reason)

    # ------------------------------------------------------------ judging hops

    def _hop_probes(self, ttl: int) -> list[_Probe]:
        per_hop = self.options.probes_per_hop
        start = (ttl - self.options.first_ttl) * per_hop
        return self.probes[start : start + per_hop]

    def _judge(self) -> None:
        per_hop = self.options.probes_per_hop
        while not self.stop_reason:
            ttl = self._judged_ttl + 1
            probes = self._hop_probes(ttl)
            complete = len(probes) == per_hop and all(p.reply is not None for p in probes)
            # An unreachable ends the path at this hop: its other probes are not waited for
            # (routers rate-limit unreachables, so they are usually lost; scamper does the same).
            if not complete and not any(self._ends_path(p.reply) for p in probes):
                return
            self._judged_ttl = ttl
            replies = [p.reply for p in probes if p.reply is not None and not p.reply.lost]
            stop = self._stop_at(ttl, replies)
            if stop:
                self.stop_reason, self.stop_ttl = stop, ttl
            elif ttl >= self.options.max_ttl:
                self.stop_reason, self.stop_ttl = MAX_TTL, ttl

    def _stop_at(self, ttl: int, replies: list[TraceReply]) -> str:
        if not replies:
            self._silent_run += 1
            return GAP_LIMIT if self._silent_run >= self.options.max_silent_hops else ""
        self._silent_run = 0
        if any(self._reached(r) for r in replies):
            if ttl == self.options.first_ttl and self._answers_in_its_name(ttl, replies):
                self._anomalies.append(DESTINATION_AT_EVERY_TTL)
            return COMPLETED
        if any(r.icmp_type == self._icmp.unreachable for r in replies):
            return UNREACHABLE
        looped = False
        exceeded = self._icmp.time_exceeded
        for address in dict.fromkeys(r.from_address for r in replies if r.icmp_type == exceeded):
            earlier = self._seen_at.get(address)
            if earlier is not None and earlier < ttl - 1:
                looped = True
            self._seen_at[address] = ttl
        if looped:
            self._anomalies.append(LOOP)
            return LOOP
        return ""

    def _ends_path(self, reply: TraceReply | None) -> bool:
        return reply is not None and reply.icmp_type == self._icmp.unreachable and not self._reached(reply)

    def _reached(self, reply: TraceReply) -> bool:
        if reply.icmp_type in (-1, self._icmp.echo_reply):  # a TCP answer or an echo reply
            return True
        # A UDP probe reaching its destination gets port unreachable from the destination.
        return (
            reply.icmp_type == self._icmp.unreachable
            and reply.icmp_code == self._icmp.port_unreachable
            and reply.from_address == self.destination
        )

    def _answers_in_its_name(self, ttl: int, replies: list[TraceReply]) -> bool:
        from_destination = [r for r in replies if self._reached(r) and r.reply_ttl]
        return bool(from_destination) and all(
            hops_travelled(r.reply_ttl) > ttl + RETURN_PATH_SLACK_HOPS for r in from_destination
        )

    # ------------------------------------------------------------ the result

    def details(self, packet_size: int = 0, flow_id: int = 0) -> TracerouteDetails:
        """The trace as it stands (call once done; before, unanswered probes count as lost)."""
        o = self.options
        last = self.stop_ttl or max((p.ttl for p in self.probes), default=o.first_ttl - 1)
        hops = []
        for ttl in range(o.first_ttl, last + 1):
            replies = tuple(p.reply or TraceReply(lost=True) for p in self._hop_probes(ttl))
            hops.append(TraceHop(ttl, replies))
        return TracerouteDetails(
            method=o.method,
            port=o.destination_port,
            first_ttl=o.first_ttl,
            max_ttl=o.max_ttl,
            probes_per_hop=o.probes_per_hop,
            hops=tuple(hops),
            destination_reached=self.stop_reason == COMPLETED,
            stop_reason=self.stop_reason or MAX_TTL,
            anomalies=tuple(dict.fromkeys(self._anomalies)),
            unmatched_replies=self.unmatched_replies,
            packet_size=packet_size,
            flow_id=flow_id,
        )


def last_responding_hop(details: TracerouteDetails) -> TraceHop | None:
    """The last hop from which anything answered."""
    for hop in reversed(details.hops):
        if hop.addresses:
            return hop
    return None
