"""Where the cut is: traces during an event against the traces from before it (pure).

Theory of operation. Each vantage point's traces towards an AS are reduced to their AS path
(the responding hops mapped to ASes at the collector, consecutive repeats and unmapped hops
collapsed). `PathMemory` keeps, per (vantage point, target AS), the last trace that reached
while the AS was UP: the "before". When the AS turns DOWN or DEGRADED, `localise` compares each
vantage point's trace of this round with its "before":

* it still reaches: no cut on its path (the same AS path), or a path change (another AS path);
* it stops: at its last responding hop, in AS S. With A the affected AS, and N the AS that
  followed S on the "before" path:
  - S is not A but N is A (the last hop before A): **border** — the link into A, or A's
    border router, is where the paths end;
  - S is A (even its first router answers, but nothing beyond): **inside** A;
  - S is not A and N is another AS: **upstream** of A — a transit cut between S and N;
  - S is not on the "before" path at all: unknown (the path changed and then stopped).

The vantage points that agree (same place, same S and N) are counted, and their ASes; the
place most of the stopping vantage points agree on is the finding, and the evidence sentence
says it: "paths from 3 vantage points in 3 ASes stop at the last hop of AS1299 before AS9198;
before the event they continued into AS9198". Paths that all still reach are reported as no
cut, or as a path change when they take other AS paths. A vantage point with no trace before
the event can only be placed when its stop is inside A (unknown otherwise).

The finding is the event's, not one round's: `PathMemory.during` keeps, per vantage point, its
trace of the AS's current spell DOWN or DEGRADED that says most (its latest stop; its latest
trace while it has none), and each round localises over all of them. Each vantage point's
traces come back when they come back (a trace of a cut path waits out its silent hops, so it
often lands after its round was judged, and in the revision of that round), and the last
rounds of an outage see paths reach again while the status lags, or a single vantage point
stop where its "before" says nothing: one round's traces are not the event's picture, and a
path that stopped in the event keeps its vote until the event is over.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Map an address to (ASN, country); (0, "") when unknown (the collector's IP->AS table).
Locate = Callable[[str], tuple[int, str]]


class CutPlace(enum.StrEnum):
    NO_CUT = "no_cut"  # every traced path still reaches, as before
    PATH_CHANGE = "path_change"  # paths still reach, by other AS paths
    BORDER = "border"  # at the border of the affected AS
    UPSTREAM = "upstream"  # in a transit AS before it
    INSIDE = "inside"  # inside the affected AS
    UNKNOWN = "unknown"  # stopped, but not where a "before" path says anything


@dataclass(frozen=True, slots=True)
class TracedHop:
    ttl: int
    address: str
    asn: int  # 0: not in the IP->AS table


@dataclass(frozen=True, slots=True)
class Trace:
    """One traceroute as the collector sees it: responding hops only, mapped to ASes."""

    probe_id: str
    probe_asn: int
    target_id: str
    target_asn: int
    started_unix_s: float
    hops: tuple[TracedHop, ...]
    reached: bool

    @property
    def as_path(self) -> tuple[int, ...]:
        path: list[int] = []
        for hop in self.hops:
            if hop.asn and (not path or path[-1] != hop.asn):
                path.append(hop.asn)
        return tuple(path)

    @property
    def last_hop(self) -> TracedHop | None:
        return self.hops[-1] if self.hops else None


def map_hops(hops: Iterable[tuple[int, str]], locate: Locate) -> tuple[TracedHop, ...]:
    """(ttl, address) pairs of responding hops -> TracedHops with their ASes."""
    return tuple(TracedHop(ttl, address, locate(address)[0]) for ttl, address in hops if address)


@dataclass(frozen=True, slots=True)
class PathMemory:
    """The last reaching trace per (probe id, target AS), taken while that AS was UP; the last
    finding per AS during its event (its sentence), so that the event keeps saying where the
    cut was in rounds without traces and when it closes; and the traces of the event so far
    (`during`), which every round's finding is made of."""

    before: Mapping[tuple[str, int], Trace] = field(default_factory=dict)
    # asn -> (sentence, rounds the AS has been UP with no event since)
    findings: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    # (probe id, affected AS) -> the vantage point's trace of the spell that says most
    # (spell_updated); dropped with the AS's finding.
    during: Mapping[tuple[str, int], Trace] = field(default_factory=dict)

    def updated(self, traces: Iterable[Trace], up_asns: frozenset[int] | set[int]) -> PathMemory:
        """A new memory with this round's reaching traces towards ASes that are UP."""
        before = dict(self.before)
        for trace in traces:
            if trace.reached and trace.target_asn in up_asns:
                key = (trace.probe_id, trace.target_asn)
                kept = before.get(key)
                if kept is None or kept.started_unix_s <= trace.started_unix_s:
                    before[key] = trace
        return PathMemory(before, self.findings, self.during)

    def spell_updated(self, traces: Iterable[Trace], affected_asns: frozenset[int] | set[int]) -> PathMemory:
        """A new memory with this round's traces towards affected ASes in `during`: a later
        trace replaces a vantage point's kept one, except that a reaching trace never replaces
        a stop (a path that stopped in the event keeps saying where)."""
        during = dict(self.during)
        for trace in traces:
            if trace.target_asn not in affected_asns:
                continue
            key = (trace.probe_id, trace.target_asn)
            kept = during.get(key)
            if (
                kept is None
                or (kept.reached and not trace.reached)
                or (kept.reached == trace.reached and kept.started_unix_s <= trace.started_unix_s)
            ):
                during[key] = trace
        return PathMemory(self.before, self.findings, during)


@dataclass(frozen=True, slots=True)
class Localisation:
    asn: int  # the affected AS
    place: CutPlace
    stop_asn: int  # the AS of the last responding hop (0: none, or unmapped)
    stop_address: str
    next_asn: int  # the AS that followed stop_asn before the event (0: none known)
    agreeing_vantage_points: int
    agreeing_asns: tuple[int, ...]
    traced_vantage_points: int
    summary: str


@dataclass(frozen=True, slots=True)
class _Vote:
    place: CutPlace
    stop_asn: int
    next_asn: int
    stop_address: str
    probe_asn: int


def _vote(asn: int, trace: Trace, before: Trace | None) -> _Vote:
    if trace.reached:
        changed = before is not None and before.as_path != trace.as_path
        return _Vote(CutPlace.PATH_CHANGE if changed else CutPlace.NO_CUT, 0, 0, "", trace.probe_asn)
    last = trace.last_hop
    if last is None:
        return _Vote(CutPlace.UNKNOWN, 0, 0, "", trace.probe_asn)
    stop = last.asn
    if stop == asn:  # the path entered A: whatever stopped it is inside A
        return _Vote(CutPlace.INSIDE, stop, 0, last.address, trace.probe_asn)
    path = before.as_path if before is not None else ()
    if stop and stop in path and path.index(stop) + 1 < len(path):
        following = path[path.index(stop) + 1]
        place = CutPlace.BORDER if following == asn else CutPlace.UPSTREAM
        return _Vote(place, stop, following, last.address, trace.probe_asn)
    return _Vote(CutPlace.UNKNOWN, stop, 0, last.address, trace.probe_asn)


def localise(asn: int, traces: Sequence[Trace], memory: PathMemory) -> Localisation | None:
    """Where the paths of these traces towards `asn` stop (each vantage point's latest counts),
    against `memory.before`; None without traces."""
    latest: dict[str, Trace] = {}
    for trace in traces:
        if trace.target_asn == asn:
            kept = latest.get(trace.probe_id)
            if kept is None or kept.started_unix_s <= trace.started_unix_s:
                latest[trace.probe_id] = trace
    if not latest:
        return None
    votes = [_vote(asn, t, memory.before.get((probe, asn))) for probe, t in sorted(latest.items())]
    stopped = [v for v in votes if v.place not in (CutPlace.NO_CUT, CutPlace.PATH_CHANGE)]
    pool = stopped or votes
    groups: dict[tuple[CutPlace, int, int], list[_Vote]] = {}
    for vote in pool:
        groups.setdefault((vote.place, vote.stop_asn, vote.next_asn), []).append(vote)
    # The largest group; among equals, a known place before UNKNOWN, then the lowest AS numbers.
    (place, stop_asn, next_asn), group = min(
        groups.items(), key=lambda item: (-len(item[1]), item[0][0] is CutPlace.UNKNOWN, item[0][1:])
    )
    if not stopped:
        place = (
            CutPlace.PATH_CHANGE if any(v.place is CutPlace.PATH_CHANGE for v in votes) else CutPlace.NO_CUT
        )
        group = [v for v in votes if v.place is place]
    addresses = sorted({v.stop_address for v in group if v.stop_address})
    agreeing_asns = tuple(sorted({v.probe_asn for v in group}))
    result = Localisation(
        asn=asn,
        place=place,
        stop_asn=stop_asn,
        stop_address=addresses[0] if addresses else "",
        next_asn=next_asn,
        agreeing_vantage_points=len(group),
        agreeing_asns=agreeing_asns,
        traced_vantage_points=len(votes),
        summary="",
    )
    return _with_summary(result)


def _vps(count: int, asns: int) -> str:
    return f"{count} vantage point{'s' if count != 1 else ''} in {asns} AS{'es' if asns != 1 else ''}"


def _with_summary(r: Localisation) -> Localisation:
    who = f"paths from {_vps(r.agreeing_vantage_points, len(r.agreeing_asns))}"
    of = (
        f" (of {r.traced_vantage_points} traced)"
        if r.traced_vantage_points != r.agreeing_vantage_points
        else ""
    )
    a = f"AS{r.asn}"
    if r.place is CutPlace.NO_CUT:
        text = f"{who}{of} still reach {a} as before: no cut on the path"
    elif r.place is CutPlace.PATH_CHANGE:
        text = f"{who}{of} still reach {a} by other AS paths than before: a path change, no cut"
    elif r.place is CutPlace.BORDER:
        text = (
            f"{who}{of} stop at the last hop of AS{r.stop_asn} before {a} ({r.stop_address}); "
            f"before the event they continued into {a}: a cut at the border of {a}"
        )
    elif r.place is CutPlace.UPSTREAM:
        text = (
            f"{who}{of} stop at the last hop of AS{r.stop_asn} before AS{r.next_asn} ({r.stop_address}), "
            f"upstream of {a}; before the event they continued into AS{r.next_asn}: a transit cut"
        )
    elif r.place is CutPlace.INSIDE:
        text = f"{who}{of} enter {a} and stop inside it (last hop {r.stop_address}): a cut inside {a}"
    else:
        where = f" in AS{r.stop_asn}" if r.stop_asn else ""
        last = f" at {r.stop_address}{where}" if r.stop_address else ""
        text = f"{who}{of} stop{last}, where no path from before the event leads: place unknown"
    return Localisation(
        r.asn,
        r.place,
        r.stop_asn,
        r.stop_address,
        r.next_asn,
        r.agreeing_vantage_points,
        r.agreeing_asns,
        r.traced_vantage_points,
        text,
    )
