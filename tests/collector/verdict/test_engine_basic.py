"""The engine's API works end to end: an outage opens and closes an event; state round-trips."""

from __future__ import annotations

from tests.collector.verdict.helpers import ROUND, T0, full_round, run
from vantage.collector.verdict.engine import ALGORITHM_VERSION, EngineState
from vantage.collector.verdict.model import EventKind, Status


def test_outage_of_two_rounds_opens_and_closes_one_event() -> None:
    rounds = [full_round(9198, range(4), 10, ok=not 3 <= n < 5) for n in range(8)]
    outputs = run(rounds)
    statuses = [out.as_verdicts[0].status for out in outputs]
    assert statuses == [Status.UP] * 3 + [Status.DOWN] * 2 + [Status.UP] * 3
    as_events = [e for out in outputs for e in out.events if e.asn == 9198]
    assert {e.id for e in as_events} == {"outage-as9198-20220105T101500Z"}
    closed = [e for e in as_events if not e.is_open]
    assert len(closed) == 1
    assert closed[0].kind is EventKind.OUTAGE
    assert closed[0].started_at == T0 + 3 * ROUND
    assert closed[0].ended_at == T0 + 5 * ROUND
    assert outputs[0].algorithm_version == ALGORITHM_VERSION


def test_state_round_trips_through_bytes() -> None:
    outputs = run([full_round(9198, range(3), 5, ok=True), full_round(9198, range(3), 5, ok=False)])
    state = outputs[-1].state
    again = EngineState.from_bytes(state.to_bytes())
    assert again.to_bytes() == state.to_bytes()
    assert again.ases[9198].status is Status.DOWN
