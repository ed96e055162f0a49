"""Invariants of the engine, over generated rounds (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector.verdict.helpers import ROUND, T0, TARGET_ASN, full_round, reach
from vantage.collector.verdict.engine import EngineState, evaluate_round
from vantage.collector.verdict.model import Observation, Status

OTHER_ASN = 4242
ALLOWED = {Status.UP, Status.DEGRADED, Status.DOWN, Status.FILTERED, Status.UNKNOWN}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# answers[p][t]: did target t answer vantage point p this round
answer_matrices = st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=2, max_size=5)
warm_up = st.integers(min_value=0, max_value=3)


def _history(rounds: int, probes: int) -> EngineState:
    state = EngineState.initial()
    for n in range(rounds):
        observations = full_round(TARGET_ASN, range(probes), 6, ok=True)
        state = evaluate_round(
            observations, state, round_number=n, round_start=T0 + n * ROUND, round_length=ROUND
        ).state
    return state


def _round(answers: list[list[bool]]) -> list[Observation]:
    observations = [reach(p, TARGET_ASN, t, ok) for p, row in enumerate(answers) for t, ok in enumerate(row)]
    # every vantage point reaches another AS: none of them is offline, so the set of witnesses is fixed
    observations += [reach(p, OTHER_ASN, 0, True) for p in range(len(answers))]
    return observations


def _judge(answers: list[list[bool]], state: EngineState, n: int):  # type: ignore[no-untyped-def]
    out = evaluate_round(
        _round(answers), state, round_number=n, round_start=T0 + n * ROUND, round_length=ROUND
    )
    return next(v for v in out.as_verdicts if v.asn == TARGET_ASN), out


@SETTINGS
@given(answer_matrices, warm_up, st.data())
def test_more_successes_never_lower_the_belief(
    answers: list[list[bool]], rounds: int, data: st.DataObject
) -> None:
    state = _history(rounds, len(answers))
    failures = [(p, t) for p, row in enumerate(answers) for t, ok in enumerate(row) if not ok]
    if not failures:
        return
    p, t = data.draw(st.sampled_from(failures))
    better = [list(row) for row in answers]
    better[p][t] = True
    before, _ = _judge(answers, state, rounds)
    after, _ = _judge(better, state, rounds)
    assert after.belief >= before.belief


@SETTINGS
@given(answer_matrices, warm_up)
def test_same_input_same_output(answers: list[list[bool]], rounds: int) -> None:
    state = _history(rounds, len(answers))
    _, first = _judge(answers, state, rounds)
    _, second = _judge(answers, EngineState.from_bytes(state.to_bytes()), rounds)
    assert first.as_verdicts == second.as_verdicts
    assert first.country_verdicts == second.country_verdicts
    assert first.events == second.events
    assert first.state.to_bytes() == second.state.to_bytes()


@SETTINGS
@given(answer_matrices, warm_up)
def test_statuses_only_from_the_allowed_set_and_numbers_in_range(
    answers: list[list[bool]], rounds: int
) -> None:
    _, out = _judge(answers, _history(rounds, len(answers)), rounds)
    for v in out.as_verdicts:
        assert v.status in ALLOWED
        assert 0.0 <= v.confidence <= 1.0
        assert 0.0 <= v.belief <= 1.0
        assert 0.0 <= v.reachability_ratio <= 1.0
        assert v.evidence.summary.endswith(".")
    for c in out.country_verdicts:
        assert c.status in ALLOWED
        assert 0.0 <= c.confidence <= 1.0
        assert 0.0 <= c.affected_share <= 1.0


# Honest vantage points see the truth up to 10 % random loss (one of ten targets); the liar reports
# the opposite of the truth on every target.
@SETTINGS
@given(st.booleans(), st.lists(st.sets(st.integers(0, 9), max_size=1), min_size=4, max_size=4), warm_up)
def test_one_lying_probe_among_five_never_flips_an_as(
    truth_up: bool, lost: list[set[int]], rounds: int
) -> None:
    state = EngineState.initial()
    for n in range(rounds):
        observations = full_round(TARGET_ASN, range(5), 10, ok=True)
        state = evaluate_round(
            observations, state, round_number=n, round_start=T0 + n * ROUND, round_length=ROUND
        ).state
    answers = [[truth_up and t not in lost_here for t in range(10)] for lost_here in lost]  # honest p0..p3
    answers.append([not truth_up] * 10)  # the liar, p4
    v, out = _judge(answers, state, rounds)
    assert v.status is (Status.UP if truth_up else Status.DOWN)
    assert "p4" in out.suspect_probes or "p4" in out.offline_probes
