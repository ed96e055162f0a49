"""Golden scenarios of outside-in reachability: one AS, a handful of vantage points, known answers."""

from __future__ import annotations

import pytest

from tests.collector.verdict.helpers import TARGET_ASN, full_round, reach, run, verdict_of, warm
from vantage import failures
from vantage.collector.verdict.engine import VerdictConfig
from vantage.collector.verdict.model import Observation, Outcome, Status

OTHER_ASN = 4242


def test_all_answer_is_up_with_high_confidence() -> None:
    out = run(warm(1))[-1]
    v = verdict_of(out)
    assert v.status is Status.UP
    assert v.confidence > 0.99
    assert v.reachability_ratio == 1.0
    assert v.evidence.vantage_points == 3
    assert v.evidence.summary == "AS9198 (KZ) UP: 10/10 targets answered from 3 vantage points in 3 ASes."


def test_all_fail_from_three_networks_is_down_in_the_first_round() -> None:
    out = run([*warm(3), full_round(TARGET_ASN, range(3), 10, ok=False)])[-1]
    v = verdict_of(out)
    assert v.status is Status.DOWN
    assert v.confidence > 0.99
    assert v.belief < 0.01
    assert v.reachability_ratio == 0.0
    assert v.evidence.summary == "AS9198 (KZ) DOWN: 0/10 targets answered from 3 vantage points in 3 ASes."
    assert v.evidence.failures[0].failure == failures.GENERIC_TIMEOUT


@pytest.mark.parametrize(
    ("description", "failing", "expected"),
    [
        ("one vantage point alone cannot call DOWN", [0], Status.UNKNOWN),
        ("two vantage points in one AS cannot call DOWN", [0, 1], Status.UNKNOWN),
        ("two vantage points in two ASes can", [0, 2], Status.DOWN),
    ],
)
def test_corroboration_rule(description: str, failing: list[int], expected: Status) -> None:
    # p0 and p1 share AS 500; p2 is in AS 502; only the failing probes measure this round.
    asns = {0: 500, 1: 500, 2: 502}
    history = [[reach(p, TARGET_ASN, t, True, probe_asn=asns[p]) for p in asns for t in range(10)]] * 3
    cut = [reach(p, TARGET_ASN, t, False, probe_asn=asns[p]) for p in failing for t in range(10)]
    # the failing probes reach another AS, so they are not offline
    cut += [reach(p, OTHER_ASN, t, True, probe_asn=asns[p]) for p in failing for t in range(3)]
    v = verdict_of(run([*history, cut])[-1])
    assert v.status is expected, description


def test_config_can_demand_more_corroboration() -> None:
    config = VerdictConfig(min_down_vantage_points=4, min_down_vantage_asns=4)
    out = run([*warm(3), full_round(TARGET_ASN, range(3), 10, ok=False)], config)[-1]
    assert verdict_of(out).status is Status.UNKNOWN


def _dissent_round(ok_for_target: bool, dissenter_ok: bool, probes: int = 5) -> list[Observation]:
    observations = []
    for p in range(probes):
        ok = dissenter_ok if p == 0 else ok_for_target
        observations += [reach(p, TARGET_ASN, t, ok) for t in range(10)]
        observations += [reach(p, OTHER_ASN, t, True) for t in range(3)]  # everyone is online
    return observations


def test_a_single_dissenter_that_fails_is_suspect_and_changes_nothing() -> None:
    outputs = run([*warm(3, probes=range(5)), _dissent_round(ok_for_target=True, dissenter_ok=False)])
    v = verdict_of(outputs[-1])
    assert v.status is Status.UP
    assert v.evidence.suspect_probes == ("p0",)
    assert "p0" in outputs[-1].suspect_probes
    assert "dissenting vantage point p0 suspect" in v.evidence.summary


def test_a_single_dissenter_that_answers_cannot_hold_an_outage_up() -> None:
    outputs = run([*warm(3, probes=range(5)), _dissent_round(ok_for_target=False, dissenter_ok=True)])
    v = verdict_of(outputs[-1])
    assert v.status is Status.DOWN
    assert v.evidence.suspect_probes == ("p0",)
    assert v.confidence > 0.99  # the dissenter is left out of the confidence


def test_a_probe_that_fails_everything_is_offline_and_excluded() -> None:
    observations = full_round(TARGET_ASN, range(3), 10, ok=True) + full_round(OTHER_ASN, range(3), 5, ok=True)
    observations += [reach(9, asn, t, False) for asn in (TARGET_ASN, OTHER_ASN) for t in range(10)]
    out = run([*warm(3), observations])[-1]
    assert out.offline_probes == ("p9",)
    v = verdict_of(out)
    assert v.status is Status.UP
    assert v.evidence.vantage_points == 3
    assert "p9" not in out.suspect_probes


def test_a_probe_that_only_measured_a_country_that_is_cut_is_not_offline() -> None:
    out = run([*warm(3), full_round(TARGET_ASN, range(3), 10, ok=False)])[-1]
    assert out.offline_probes == ()


def test_inside_vantage_points_are_no_witness_for_the_outside() -> None:
    # p0 sits inside the target AS and still reaches its own network during a cut.
    observations = full_round(TARGET_ASN, range(1, 4), 10, ok=False)
    observations += [reach(0, TARGET_ASN, t, True, probe_asn=TARGET_ASN) for t in range(10)]
    out = run([*warm(3, probes=range(1, 4)), observations])[-1]
    v = verdict_of(out)
    assert v.status is Status.DOWN
    assert v.evidence.vantage_points == 3


def test_partial_reachability_from_some_networks_is_degraded() -> None:
    observations = full_round(TARGET_ASN, range(2), 10, ok=False) + full_round(
        TARGET_ASN, range(2, 5), 10, ok=True
    )
    observations += full_round(OTHER_ASN, range(5), 3, ok=True)
    v = verdict_of(run([*warm(3, probes=range(5)), observations])[-1])
    assert v.status is Status.DEGRADED
    assert "unreachable from 2 vantage points" in v.evidence.summary


def test_part_of_the_targets_gone_from_everywhere_is_degraded() -> None:
    observations = [reach(p, TARGET_ASN, t, t >= 4) for p in range(3) for t in range(10)]
    v = verdict_of(run([*warm(4), observations])[-1])
    assert v.status is Status.DEGRADED
    assert "4 usually-answering targets fail" in v.evidence.summary


def test_loss_and_rtt_far_above_the_baseline_is_throttling() -> None:
    throttled = full_round(TARGET_ASN, range(3), 10, ok=True, rtt_ms=200.0, loss_ratio=2 / 3)
    v = verdict_of(run([*warm(4), throttled])[-1])
    assert v.status is Status.DEGRADED
    assert v.evidence.loss_ratio == pytest.approx(2 / 3)
    assert v.evidence.baseline_loss_ratio == pytest.approx(0.0)
    assert v.evidence.baseline_rtt_ms == pytest.approx(40.0)
    assert "throttling" in v.evidence.summary


def test_throttling_needs_a_baseline_first() -> None:
    throttled = full_round(TARGET_ASN, range(3), 10, ok=True, rtt_ms=200.0, loss_ratio=2 / 3)
    assert verdict_of(run([throttled])[-1]).status is Status.UP


def test_targets_that_never_answered_are_ignored() -> None:
    # targets 0-4 answer, 5-9 never did; later 0-4 keep answering: 5-9 must not drag the AS down.
    rounds = [[reach(p, TARGET_ASN, t, t < 5) for p in range(3) for t in range(10)] for _ in range(6)]
    out = run(rounds)[-1]
    v = verdict_of(out)
    assert v.status is Status.UP
    assert out.state.targets["t9198-9"][2] is False  # never answered


def test_an_as_dark_since_monitoring_began_ends_unknown_not_down() -> None:
    outputs = run([full_round(TARGET_ASN, range(3), 10, ok=False) for _ in range(6)])
    assert verdict_of(outputs[0]).status is Status.DOWN
    assert verdict_of(outputs[-1]).status is Status.UNKNOWN


def test_observations_that_prove_nothing_are_ignored() -> None:
    refused = [
        Observation("p0", 100, "DE", "t9198-0", TARGET_ASN, "KZ", 1, 1, Outcome.REFUSED_BY_POLICY),
        Observation(
            "p1", 101, "DE", "t9198-0", TARGET_ASN, "KZ", 1, 1, Outcome.FAILURE, failures.UNKNOWN_FAILURE
        ),
    ]
    out = run([*warm(2), refused])[-1]
    assert all(v.asn != TARGET_ASN for v in out.as_verdicts)


def test_answers_that_refuse_still_prove_reachability() -> None:
    refused = full_round(TARGET_ASN, range(3), 10, ok=False, failure=failures.CONNECTION_REFUSED)
    v = verdict_of(run([*warm(2), refused])[-1])
    assert v.status is Status.UP
    assert v.evidence.failures[0].failure == failures.CONNECTION_REFUSED
