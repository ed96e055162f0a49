"""Trace scheduling: a baseline every few hours per AS, on-demand traces for affected ASes."""

from __future__ import annotations

from collections import Counter

import pytest

from vantage.collector.assignment.model import ProbeSlot, TargetSlot
from vantage.collector.assignment.task_specs import TaskSpec
from vantage.collector.assignment.traces import TraceConfig, plan_traces, vantage_points
from vantage.kinds import Protocol

PROBES = [ProbeSlot(f"p{i}", 64500 + i // 2, "NL", icmp=True, ipv6=False) for i in range(20)]  # 2 per AS
NO_RAW = [ProbeSlot(f"q{i}", 65000 + i, "NL", icmp=False, ipv6=False) for i in range(5)]
TARGETS = [
    TargetSlot(f"t{asn}-{j}", address=f"198.51.{asn % 100}.{j + 1}", asn=asn, protocols=(Protocol.ICMP,))
    for asn in range(9100, 9140)
    for j in range(3)
] + [TargetSlot("v6", address="2001:db8::1", asn=9999), TargetSlot("byname", name="example.org", asn=9998)]


def traces_of(plan: dict[str, list[TaskSpec]]) -> list[TaskSpec]:
    return [spec for specs in plan.values() for spec in specs]


def test_vantage_points_are_stable_in_distinct_ases_and_outside() -> None:
    inside = ProbeSlot("inside", 9100, "KZ", icmp=True, ipv6=False)
    chosen = vantage_points(9100, [*PROBES, *NO_RAW, inside], 5)
    assert len(chosen) == 5 and len({p.asn for p in chosen}) == 5
    assert all(p.icmp and p.asn != 9100 for p in chosen)
    assert vantage_points(9100, list(reversed(PROBES)), 3) == chosen[:3]  # the baseline's come first


def test_each_as_gets_its_baseline_once_per_period() -> None:
    config = TraceConfig(baseline_every_rounds=36, baseline_vantage_points=3)  # 3 h of 5-minute rounds
    per_as: Counter[int] = Counter()
    for round_number in range(36):
        for spec in traces_of(plan_traces(PROBES, TARGETS, round_number, {}, config)):
            assert spec.protocol is Protocol.TRACEROUTE and spec.address and ":" not in spec.address
            per_as[int(spec.target_id[1:5])] += 1
    assert per_as == {asn: 3 for asn in range(9100, 9140)}  # IPv6-only and name-only ASes: none


def test_an_affected_as_is_traced_every_round_from_k_vantage_points() -> None:
    config = TraceConfig(baseline_every_rounds=10_000)
    for round_number in range(5):
        specs = traces_of(plan_traces(PROBES, TARGETS, round_number, {9105: "DOWN"}, config))
        affected = [s for s in specs if s.target_id.startswith("t9105-")]
        assert len(affected) == 5 and len({s.target_id for s in affected}) == 1
        assert len({s.task_id for s in specs}) == len(specs)


def test_the_round_budget_caps_on_demand_traces_and_ases_take_turns() -> None:
    config = TraceConfig(baseline_every_rounds=10_000, on_demand_vantage_points=5, max_on_demand_traces=12)
    affected = {asn: "DEGRADED" for asn in range(9100, 9110)}
    seen: set[str] = set()
    for round_number in range(10):
        specs = traces_of(plan_traces(PROBES, TARGETS, round_number, affected, config))
        assert len(specs) == 12
        seen |= {s.target_id.split("-")[0] for s in specs}
    assert len(seen) == 10  # every affected AS was traced within ten rounds


def test_config_from_the_round_length() -> None:
    assert TraceConfig.for_round_length(300).baseline_every_rounds == 36
    assert TraceConfig.for_round_length(3).baseline_every_rounds == 3600
    with pytest.raises(ValueError, match="at least 1"):
        TraceConfig(baseline_every_rounds=0)


def test_every_on_demand_vantage_point_has_a_baseline_by_default() -> None:
    """The on-demand traces' vantage points are the baseline's, so each has a "before"."""
    config = TraceConfig(baseline_every_rounds=36)
    asn = 9105
    baseline = {
        probe
        for round_number in range(36)
        for probe, specs in plan_traces(PROBES, TARGETS, round_number, {}, config).items()
        if any(s.target_id.startswith(f"t{asn}-") for s in specs)
    }
    on_demand = {
        probe
        for probe, specs in plan_traces(PROBES, TARGETS, 0, {asn: "DOWN"}, config).items()
        if any(s.target_id.startswith(f"t{asn}-") for s in specs)
    }
    assert len(on_demand) == config.on_demand_vantage_points and on_demand <= baseline
