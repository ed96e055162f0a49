"""A round's traces into its verdicts: the verdict engine's rounds, then localise_round.

Three vantage points (p0-p2 in AS100-102) trace AS9198 through AS1299 and AS35168 while it is
UP (the "before", kept in the engine state through its byte form), then it goes DOWN and
their traces stop at AS1299: the evidence, its sentence and the event say so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vantage.collector.verdict.engine import EngineState
from vantage.collector.verdict.localisation import localise_round
from vantage.collector.verdict.model import AsVerdict, Status
from vantage.collector.verdict.paths import CutPlace, PathMemory, Trace, TracedHop
from vantage.collector.wire.verdicts import evidence_to_proto

from .helpers import TARGET_ASN, full_round, run, verdict_of, warm

HOPS_BEFORE = [
    ("203.0.113.1", 1299),
    ("203.0.113.2", 1299),
    ("198.51.100.1", 35168),
    ("192.0.2.1", TARGET_ASN),
]


def traces(stop_after: int | None, at: float) -> list[Trace]:
    out = []
    for p in range(3):
        path = HOPS_BEFORE if stop_after is None else HOPS_BEFORE[:stop_after]
        routers = [TracedHop(ttl, address, asn) for ttl, (address, asn) in enumerate(path, start=2)]
        hops = (TracedHop(1, f"198.51.100.{100 + p}", 100 + p), *routers)
        out.append(Trace(f"p{p}", 100 + p, "t1", TARGET_ASN, at, hops, stop_after is None))
    return out


def test_a_down_as_gets_the_place_of_the_cut_in_its_evidence_and_event() -> None:
    rounds = [*warm(), *[full_round(TARGET_ASN, range(3), 10, ok=False) for _ in range(3)]]
    outputs = run(rounds)
    memory = PathMemory()
    localised = []
    for n, out in enumerate(outputs):
        stop = None if n < 4 else 2  # from round 4 on, paths stop at AS1299's second router
        verdicts, events, memory = localise_round(
            out.as_verdicts, out.events, traces(stop, at=float(n)), memory
        )
        state = EngineState.from_rows(
            {key: row for key, row in dataclasses.replace(out.state, paths=memory).rows().items() if row}
        )
        memory = state.paths  # as the collector keeps it: in the engine state's stored rows
        localised.append((verdicts, events))
    before, _ = localised[3]
    assert verdict_of(outputs[3]).status is Status.UP and verdict_of_in(before).evidence.path is None
    verdicts, events = localised[-1]
    down = verdict_of_in(verdicts)
    assert down.status is Status.DOWN
    path = down.evidence.path
    assert path is not None and path.place is CutPlace.UPSTREAM
    assert (path.stop_asn, path.next_asn, path.agreeing_vantage_points) == (1299, 35168, 3)
    assert down.evidence.summary.endswith(
        "Paths from 3 vantage points in 3 ASes stop at the last hop of AS1299 before AS35168 (203.0.113.2), "
        "upstream of AS9198; before the event they continued into AS35168: a transit cut."
    )
    outage = [e for e in localised[4][1] if e.asn == TARGET_ASN and e.is_open]
    assert outage and all("a transit cut" in e.summary for e in outage)
    message = evidence_to_proto(down.evidence)
    assert message.path.place == "upstream" and list(message.path.agreeing_asns) == [100, 101, 102]
    # The "before" survived the DOWN rounds unchanged (stopped traces are not a "before").
    assert memory.before[("p0", TARGET_ASN)].reached


def verdict_of_in(verdicts: Sequence[AsVerdict]) -> AsVerdict:
    return next(v for v in verdicts if v.asn == TARGET_ASN)


def test_no_traces_changes_nothing() -> None:
    out = run(warm(1))[0]
    verdicts, events, memory = localise_round(out.as_verdicts, out.events, [], PathMemory())
    assert verdicts == out.as_verdicts and events == out.events and not memory.before


def test_a_state_written_before_traceroute_still_loads() -> None:
    out = run(warm(1))[0]
    blob = out.state.to_bytes()
    assert b'"paths"' not in blob  # an empty memory writes nothing: older readers see no change
    assert EngineState.from_bytes(blob).paths == PathMemory()


def test_an_event_keeps_its_finding_in_rounds_without_traces_and_when_it_closes() -> None:
    rounds = [*warm(), *[full_round(TARGET_ASN, range(3), 10, ok=False) for _ in range(4)], *warm(4)]
    memory = PathMemory()
    summaries: list[list[str]] = []
    for n, out in enumerate(run(rounds)):
        # Traces from before, stopping in round 5, none in round 6, reaching again from round 7
        # (while the AS is still DOWN: the event keeps where its paths had stopped).
        round_traces = traces(None, float(n)) if n < 4 or n > 6 else traces(2, float(n)) if n == 5 else []
        _, events, memory = localise_round(out.as_verdicts, out.events, round_traces, memory)
        summaries.append([e.summary for e in events if e.asn == TARGET_ASN])
    with_finding = [
        n for n, texts in enumerate(summaries) if texts and all("a transit cut" in t for t in texts)
    ]
    assert with_finding == [5, 6, 7, 9]  # round 9 closes the event (round 8 has none of it)
    assert not memory.findings  # forgotten once the event is over


def test_the_event_says_where_all_its_paths_stopped_not_where_its_last_trace_did() -> None:
    """The lab's failing run (tests/lab/test_traceroute_cuts.py, a transit cut): p0 and p1 stop at
    AS1299 in the first DOWN rounds; then only p2 comes back, stopping at its own gateway, where
    it has no "before" (the baseline never traced from it); in the last DOWN round p0 and p1
    reach again (the cut is mended, the status lags) and p2 still stops there. Each round's
    finding, and the event's when it closes, is the transit cut of p0 and p1."""
    rounds = [*warm(), *[full_round(TARGET_ASN, range(3), 10, ok=False) for _ in range(3)], *warm(4)]
    memory = PathMemory()
    localised = []
    for n, out in enumerate(run(rounds)):
        if n < 4:  # the "before": p0 and p1 only
            round_traces = [t for t in traces(None, float(n)) if t.probe_id != "p2"]
        elif n == 4:
            round_traces = [t for t in traces(2, float(n)) if t.probe_id != "p2"]
        elif n == 5:
            round_traces = [t for t in traces(0, float(n)) if t.probe_id == "p2"]
        elif n == 6:
            round_traces = [t if t.probe_id != "p2" else stopped for t, stopped in zip(
                traces(None, float(n)), traces(0, float(n)), strict=True
            )]  # fmt: skip
        else:
            round_traces = []
        verdicts, events, memory = localise_round(out.as_verdicts, out.events, round_traces, memory)
        # As the collector keeps it: in the engine state's stored rows, and (revisions) its bytes.
        state = dataclasses.replace(out.state, paths=memory)
        assert EngineState.from_bytes(state.to_bytes()).paths == memory
        memory = EngineState.from_rows({key: row for key, row in state.rows().items() if row}).paths
        localised.append((verdicts, events))
    for n in (4, 5, 6):
        verdicts, events = localised[n]
        path = verdict_of_in(verdicts).evidence.path
        assert path is not None and path.place is CutPlace.UPSTREAM, (n, path)
        assert (path.stop_asn, path.next_asn, path.agreeing_vantage_points) == (1299, 35168, 2)
        assert path.traced_vantage_points == (2 if n == 4 else 3)
        assert [e for e in events if e.asn == TARGET_ASN]
        assert all("a transit cut" in e.summary for e in events if e.asn == TARGET_ASN)
    closing = [e for _, events in localised for e in events if e.asn == TARGET_ASN and not e.is_open]
    assert closing and all("(of 3 traced)" in e.summary and "a transit cut" in e.summary for e in closing)
    assert not memory.findings and not memory.during  # the event's traces go with it


def test_a_stop_outranks_a_later_reach_and_a_later_stop_replaces_it() -> None:
    start = PathMemory()
    stop_early, reach_later = traces(2, 1.0)[0], traces(None, 2.0)[0]
    stop_later = traces(1, 3.0)[0]
    kept = start.spell_updated([stop_early], {TARGET_ASN}).spell_updated([reach_later], {TARGET_ASN})
    assert kept.during[("p0", TARGET_ASN)] == stop_early
    assert kept.spell_updated([stop_later], {TARGET_ASN}).during[("p0", TARGET_ASN)] == stop_later
    assert start.spell_updated([reach_later], {TARGET_ASN}).during[("p0", TARGET_ASN)] == reach_later
    assert not start.spell_updated([stop_early], {64999}).during  # not affected: not the event's
