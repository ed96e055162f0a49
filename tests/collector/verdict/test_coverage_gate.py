"""The coverage gate: a campaign AS that is not analysable is UNKNOWN with the reason; others stay."""

from __future__ import annotations

from tests.collector.verdict.helpers import ROUND, T0, full_round
from vantage.collector.storage.records import RoundMeasurement
from vantage.collector.verdict.coverage_gate import GATE_VERSION, gate_by_coverage, gated_version
from vantage.collector.verdict.engine import ALGORITHM_VERSION, EngineState, evaluate_round
from vantage.collector.verdict.model import Status
from vantage.collector.wire.observations import build_observations


def verdicts_of_two_up_ases() -> tuple:  # type: ignore[type-arg]
    observations = full_round(9198, range(6), 3, True) + full_round(9199, range(6), 3, True)
    state = EngineState.initial()
    output = None
    for n in range(4):  # a few rounds of history so that the engine has beliefs
        output = evaluate_round(
            observations, state, round_number=n, round_start=T0 + n * ROUND, round_length=ROUND
        )
        state = output.state
    assert output is not None
    return output.as_verdicts


def test_a_not_analysable_as_becomes_unknown_with_its_reason_and_others_stay() -> None:
    verdicts = verdicts_of_two_up_ases()
    by_asn = {v.asn: v for v in verdicts}
    assert by_asn[9198].status is Status.UP  # the engine judged it
    reason = "1 responsive /24 block(s), at least 2 needed"
    gated = {v.asn: v for v in gate_by_coverage(verdicts, {9198: ("KZ", reason)}, round_start=T0)}
    assert gated[9198].status is Status.UNKNOWN and gated[9198].confidence == 0.0
    assert gated[9198].evidence.summary == f"UNKNOWN: not analysable: {reason}"
    assert gated[9198].evidence.reachability_status is Status.UNKNOWN
    assert gated[9198].since == T0
    assert gated[9199] == by_asn[9199]


def test_a_campaign_as_without_observations_gets_an_unknown_verdict_saying_why() -> None:
    gated = gate_by_coverage(
        (), {64500: ("KZ", "vantage points outside it in 0 AS(es), at least 2 needed")}, round_start=T0
    )
    assert [(v.asn, v.country, v.status) for v in gated] == [(64500, "KZ", Status.UNKNOWN)]
    assert "0 AS(es)" in gated[0].evidence.summary and gated[0].evidence.targets == 0


def test_nothing_to_gate_changes_nothing_and_the_version_says_the_gate_ran() -> None:
    verdicts = verdicts_of_two_up_ases()
    assert gate_by_coverage(verdicts, {}, round_start=T0) == tuple(sorted(verdicts, key=lambda v: v.asn))
    assert gated_version(ALGORITHM_VERSION) == f"{ALGORITHM_VERSION}+{GATE_VERSION}"


def test_discovery_results_never_become_observations() -> None:
    def measurement(kind: int) -> RoundMeasurement:
        return RoundMeasurement(
            "00000000-0000-0000-0000-00000000000" + str(kind), "p1", 64510, "NL", "block:198.51.100.0/24",
            "198.51.100.7", 64500, 1, kind, 2, "generic_timeout_error", None, 1.0, 0, "", 0, "",
        )  # fmt: skip

    kept = build_observations(
        [measurement(1), measurement(3)], probes={}, targets={}, locate=lambda a: (0, "")
    )
    assert [o.kind for o in kept] == [1]
