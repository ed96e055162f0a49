"""Fusion with the routing signal: the mechanism of a verdict, and what routing may never do alone."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping

import pytest

from tests.collector.verdict.helpers import (
    ROUND,
    T0,
    TARGET_ASN,
    clean_test_list,
    full_round,
    inside,
    reach,
    verdict_of,
    warm,
)
from vantage import failures
from vantage.collector.bgp.model import AsRouting, RoutingState
from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.country import AsSummary, roll_up
from vantage.collector.verdict.engine import ALGORITHM_VERSION, EngineState, RoundOutput, evaluate_round
from vantage.collector.verdict.mechanism import fuse, layer_of, routing_sentence
from vantage.collector.verdict.model import (
    FilteredTarget,
    Layer,
    Mechanism,
    Observation,
    Outcome,
    Protocol,
    Status,
)
from vantage.collector.verdict.scoring import run_simulation
from vantage.collector.verdict.simulate import SimulationConfig


def routes(state: RoutingState, visible: int = 12, asn: int = TARGET_ASN) -> dict[int, AsRouting]:
    return {asn: AsRouting(asn, state, visible, 12, visible * 256, 12 * 256, 18, f"{visible}/12 visible")}


VISIBLE = routes(RoutingState.VISIBLE)
WITHDRAWN = routes(RoutingState.WITHDRAWN, 0)
PARTIAL = routes(RoutingState.PARTIAL, 6)
UNKNOWN = routes(RoutingState.UNKNOWN, 0)


def run(rounds: list[list[Observation]], routing: list[Mapping[int, AsRouting] | None]) -> list[RoundOutput]:
    state = EngineState.initial()
    outputs = []
    for n, observations in enumerate(rounds):
        out = evaluate_round(
            observations,
            state,
            round_number=n,
            round_start=T0 + n * ROUND,
            round_length=ROUND,
            routing=routing[n] if n < len(routing) else None,
        )
        state = EngineState.from_bytes(out.state.to_bytes())
        outputs.append(out)
    return outputs


def cut(routing: Mapping[int, AsRouting] | None, warm_routing: Mapping[int, AsRouting] | None = VISIBLE):
    rounds = [*warm(), full_round(TARGET_ASN, range(3), 10, ok=False)]
    return verdict_of(run(rounds, [warm_routing] * 4 + [routing])[-1])


def test_the_algorithm_version_names_the_fusion_the_robust_statistics_and_the_learned_weight() -> None:
    assert ALGORITHM_VERSION == "vantage-verdict/4"


def test_probes_fail_and_routes_withdrawn_is_a_bgp_withdrawal_surer_than_probes_alone() -> None:
    alone = cut(None, None)
    fused = cut(WITHDRAWN)
    assert alone.status is fused.status is Status.DOWN
    assert fused.mechanism is Mechanism.BGP_WITHDRAWAL
    assert fused.confidence >= alone.confidence
    # Two witnesses agreeing halve the doubt (the saturated case above cannot show it).
    assert (
        fuse(TARGET_ASN, Status.DOWN, 0.8, None, None, WITHDRAWN[TARGET_ASN], VerdictConfig()).confidence
        == 0.9
    )
    assert fused.evidence.mechanism_reason == (
        f"probes fail and routes withdrawn: 0/12 prefixes of AS{TARGET_ASN} visible from 18 full-feed "
        "peers (baseline 12, 0% of the address space)"
    )
    assert fused.evidence.routing == WITHDRAWN[TARGET_ASN]
    assert cut(PARTIAL).mechanism is Mechanism.BGP_WITHDRAWAL


def test_probes_fail_with_routes_intact_is_data_plane() -> None:
    v = cut(VISIBLE)
    assert (v.status, v.mechanism) == (Status.DOWN, Mechanism.DATA_PLANE)
    assert "blackholing or firewalling" in v.evidence.mechanism_reason


def test_probes_fail_while_another_as_originates_the_prefix_is_no_known_mechanism() -> None:
    """A hijack-like re-announcement draws traffic away: nothing withdrawn, nothing dropped."""
    contested = {TARGET_ASN: dataclasses.replace(VISIBLE[TARGET_ASN], contested_prefixes=1)}
    v = cut(contested)
    assert (v.status, v.mechanism) == (Status.DOWN, Mechanism.UNKNOWN)
    assert "1 also originated by another AS (hijack-like)" in v.evidence.mechanism_reason


@pytest.mark.parametrize("routing", [None, UNKNOWN], ids=["no-feed", "feed-down"])
def test_without_a_routing_signal_a_down_has_no_known_mechanism(routing: dict[int, AsRouting] | None) -> None:
    v = cut(routing)
    assert (v.status, v.mechanism) == (Status.DOWN, Mechanism.UNKNOWN)
    assert "cannot be told" in v.evidence.mechanism_reason


@pytest.mark.parametrize("routing", [WITHDRAWN, PARTIAL], ids=["withdrawn", "partial"])
def test_routing_alone_never_turns_an_answering_as_down(routing: dict[int, AsRouting]) -> None:
    rounds = [*warm(), full_round(TARGET_ASN, range(3), 10, ok=True)]
    outs = run(rounds, [VISIBLE] * 4 + [routing])
    v = verdict_of(outs[-1])
    assert (v.status, v.mechanism) == (Status.UP, Mechanism.NONE)
    assert "routing signal disagrees" in v.evidence.mechanism_reason
    assert not outs[-1].events


def test_a_withdrawal_nobody_measured_draws_attention_but_is_not_down() -> None:
    outs = run([*warm(), []], [VISIBLE] * 4 + [WITHDRAWN])
    v = verdict_of(outs[-1])
    assert (v.status, v.mechanism) == (Status.UNKNOWN, Mechanism.BGP_WITHDRAWAL)
    assert "not called DOWN on routing alone" in v.evidence.mechanism_reason


def test_one_failing_vantage_point_and_withdrawn_routes_corroborate_each_other() -> None:
    lone = [reach(0, TARGET_ASN, t, ok=False) for t in range(10)]
    without = verdict_of(run([*warm(), lone], [None] * 5)[-1])
    assert without.status is Status.UNKNOWN  # one vantage point alone is not corroboration
    with_routes = verdict_of(run([*warm(), lone], [VISIBLE] * 4 + [WITHDRAWN])[-1])
    assert (with_routes.status, with_routes.mechanism) == (Status.DOWN, Mechanism.BGP_WITHDRAWAL)
    assert with_routes.confidence == VerdictConfig().routing_corroborated_confidence
    # ... but routes that are still visible corroborate nothing.
    assert verdict_of(run([*warm(), lone], [VISIBLE] * 5)[-1]).status is Status.UNKNOWN


def test_throttling_is_named_and_the_event_carries_the_mechanism() -> None:
    throttled = [
        reach(p, TARGET_ASN, t, ok=True, rtt_ms=40.0, loss_ratio=0.6) for p in range(3) for t in range(10)
    ]
    outs = run([*warm(), throttled, throttled], [VISIBLE] * 6)
    v = verdict_of(outs[-1])
    assert (v.status, v.mechanism) == (Status.DEGRADED, Mechanism.THROTTLING)
    assert [e.mechanism for e in outs[-1].events if e.asn] == [Mechanism.THROTTLING]
    assert next(e for e in outs[-1].events if e.asn).mechanism_reason == v.evidence.mechanism_reason


def test_service_blocking_names_the_layer() -> None:
    blocked = []
    for probe, asn in (("in1", TARGET_ASN), ("in2", TARGET_ASN)):
        for j in range(4):
            blocked.append(
                inside(
                    probe, asn, "KZ", j, Protocol.HTTP, Outcome.FAILURE, failure=failures.SSL_INVALID_HOSTNAME
                )
            )
        blocked.append(inside(probe, asn, "KZ", 9, Protocol.ICMP, Outcome.OK))
    control = clean_test_list("c1", 3320, "DE") + clean_test_list("c2", 3209, "NL")
    reachable = full_round(TARGET_ASN, range(3), 10, ok=True)
    outs = run([*warm(), reachable + blocked + control], [VISIBLE] * 5)
    v = verdict_of(outs[-1])
    assert (v.status, v.mechanism, v.layer) == (Status.FILTERED, Mechanism.SERVICE_BLOCKING, Layer.TLS)
    assert "TLS layer" in v.evidence.mechanism_reason


@pytest.mark.parametrize(
    ("protocol", "failure", "layer"),
    [
        (Protocol.DNS, "dns_inconsistent", Layer.DNS),
        (Protocol.HTTP, failures.CONNECTION_RESET, Layer.TCP),
        (Protocol.TCP, failures.GENERIC_TIMEOUT, Layer.TCP),
        (Protocol.HTTP, failures.SSL_FAILED_HANDSHAKE, Layer.TLS),
        (Protocol.HTTP, "http_diff", Layer.HTTP),
        (Protocol.ICMP, failures.GENERIC_TIMEOUT, Layer.UNSPECIFIED),
    ],
)
def test_layer_of_a_filtered_target(protocol: Protocol, failure: str, layer: Layer) -> None:
    assert layer_of([FilteredTarget("t", protocol, failure, 2, 3)]) is layer


def test_the_layer_most_filtered_targets_show_wins() -> None:
    targets = [
        FilteredTarget("a", Protocol.HTTP, failures.CONNECTION_RESET, 1, 1),
        FilteredTarget("b", Protocol.HTTP, "http_diff", 1, 1),
        FilteredTarget("c", Protocol.HTTP, "http_diff", 1, 1),
    ]
    assert layer_of(targets) is Layer.HTTP


def test_a_country_cut_mostly_by_withdrawal_is_a_bgp_withdrawal() -> None:
    config = VerdictConfig()

    def summary(asn: int, mechanism: Mechanism, weight: int) -> AsSummary:
        return AsSummary(asn, Status.DOWN, 0.99, weight, 0.0, True, mechanism)

    national = [
        summary(1, Mechanism.BGP_WITHDRAWAL, 30),
        summary(2, Mechanism.BGP_WITHDRAWAL, 20),
        summary(3, Mechanism.DATA_PLANE, 10),
    ]
    kz = roll_up("KZ", national, None, T0, config)
    assert (kz.status, kz.mechanism) == (Status.DOWN, Mechanism.BGP_WITHDRAWAL)
    assert kz.mechanism_reason == "bgp_withdrawal in 83% (weighted) of the affected ASes"
    three_ways = [
        summary(1, Mechanism.BGP_WITHDRAWAL, 10),
        summary(2, Mechanism.DATA_PLANE, 11),
        summary(3, Mechanism.UNKNOWN, 9),
    ]
    mixed = roll_up("KZ", three_ways, None, T0, config)
    assert mixed.mechanism is Mechanism.UNKNOWN
    assert mixed.mechanism_reason.startswith("mixed mechanisms")


def test_routing_sentence_reads_like_a_report() -> None:
    routing = AsRouting(29355, RoutingState.WITHDRAWN, 0, 12, 0, 3072, 18, "")
    assert routing_sentence(29355, routing) == (
        "routes withdrawn: 0/12 prefixes of AS29355 visible from 18 full-feed peers "
        "(baseline 12, 0% of the address space)"
    )


def test_the_simulator_tells_withdrawals_from_data_plane_cuts_and_hijacks_stay_up() -> None:
    config = SimulationConfig(
        ases=12,
        targets_per_as=6,
        outside_probes=14,
        rounds=80,
        outages=6,
        throttles=2,
        filterings=2,
        routing=True,
        feed_outages=1,
        hijacks=3,
    )
    score = run_simulation(config, random.Random(5))
    expected = {want for want, _, _ in score.mechanisms}
    assert {Mechanism.BGP_WITHDRAWAL, Mechanism.DATA_PLANE} <= expected
    assert score.mechanism_accuracy == 1.0
    assert score.hijack_rounds > 0 and score.hijack_flips == 0
    assert score.feed_down_rounds > 0


def test_without_routing_the_simulator_expects_an_unknown_mechanism_for_outages() -> None:
    config = SimulationConfig(
        ases=8, targets_per_as=6, outside_probes=12, rounds=40, outages=3, throttles=1, filterings=0
    )
    score = run_simulation(config, random.Random(2))
    assert all(want is not Mechanism.BGP_WITHDRAWAL for want, _, _ in score.mechanisms)
    assert score.mechanism_accuracy == 1.0


def test_mechanisms_and_layers_equal_their_wire_numbers_and_names() -> None:
    from vantage.collector.verdict.model import LAYER_NAMES, MECHANISM_NAMES
    from vantage.v1 import query_service_pb2

    for mechanism, name in MECHANISM_NAMES.items():
        wire = "MECHANISM_UNSPECIFIED" if mechanism is Mechanism.NONE else f"MECHANISM_{name.upper()}"
        assert query_service_pb2.Mechanism.Value(wire) == mechanism
    assert set(MECHANISM_NAMES) == set(Mechanism)
    for layer, name in LAYER_NAMES.items():
        wire = f"INTERFERENCE_LAYER_{name.upper() or 'UNSPECIFIED'}"
        assert query_service_pb2.InterferenceLayer.Value(wire) == layer
    assert len(query_service_pb2.Mechanism.keys()) == len(Mechanism)


def test_an_event_keeps_the_mechanism_it_was_named_with_while_the_cut_heals() -> None:
    """Routes come back before traffic does: the healing rounds of a withdrawal say data_plane."""
    from datetime import UTC, datetime, timedelta

    from vantage.collector.verdict.config import VerdictConfig
    from vantage.collector.verdict.events import RoundMark, step
    from vantage.collector.verdict.model import EventKind, Mechanism, Status

    start, length = datetime(2022, 1, 5, 10, 30, tzinfo=UTC), timedelta(minutes=5)

    def down(mechanism: Mechanism, reason: str) -> RoundMark:
        return RoundMark(Status.DOWN, 1.0, 1.0, "down", mechanism=mechanism, mechanism_reason=reason)

    marks = [
        down(Mechanism.UNKNOWN, "no routing yet"),
        down(Mechanism.BGP_WITHDRAWAL, "routes withdrawn"),
        down(Mechanism.DATA_PLANE, "routes visible again"),
    ]
    track, event = None, None
    for number, mark in enumerate(marks):
        track, event = step(
            track, EventKind.OUTAGE, "AS64500", 64500, "KZ", mark, number, start + number * length, length,
            VerdictConfig(),
        )  # fmt: skip
    assert event is not None
    assert (event.mechanism, event.mechanism_reason) == (Mechanism.BGP_WITHDRAWAL, "routes withdrawn")
