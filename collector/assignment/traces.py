"""Which probes trace which ASes this round: a low-rate baseline and on-demand traces (pure).

Localising a cut (collector/verdict/paths.py) needs a "before": each target AS is traced
from `baseline_vantage_points` probes in distinct ASes every `baseline_every_rounds` rounds
(every few hours), the ASes spread evenly over the rounds by a stable hash. When an AS is
DOWN or DEGRADED, it is traced every round from `on_demand_vantage_points` probes, within
`max_on_demand_traces` traces per round (the affected ASes take turns when there are more).

The vantage points of an AS are chosen by rendezvous hashing (collector/assignment/
rendezvous.py) over the probes that can send raw packets, outside the AS, one per probe AS:
the same probes come first for the same AS every time, so the on-demand traces come from the
probes whose baseline traces are the "before" — all of them, as long as the baseline traces
from at least as many vantage points as the on-demand traces (the defaults: 5 and 5); an
on-demand vantage point without a baseline can only place a stop inside the AS
(collector/verdict/paths.py). One target per AS is traced: the first by
stable hash among its targets with an IPv4 address (every probe has IPv4; not every probe
has IPv6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vantage.collector.assignment.model import ProbeSlot, TargetSlot
from vantage.collector.assignment.rendezvous import pair_weight, stable_hash64
from vantage.collector.assignment.task_specs import TaskSpec, TaskTemplate, task_id
from vantage.kinds import Protocol, TaskKind

# On demand 5 vantage points (enough for "how many agree" across ASes), at most 100 traces per
# round over the fleet (≈ 9,000 packets at most, at 30 hops x 3 probes; most traces stop far
# earlier). The baseline every 3 hours from the same 5, so that each of them has a "before":
# 8 traces a day per AS and vantage point, a few thousand packets a day per AS.
DEFAULT_BASELINE_EVERY_S = 3 * 3600.0
DEFAULT_ON_DEMAND_VANTAGE_POINTS = 5
DEFAULT_BASELINE_VANTAGE_POINTS = DEFAULT_ON_DEMAND_VANTAGE_POINTS
DEFAULT_MAX_ON_DEMAND_TRACES = 100


@dataclass(frozen=True, slots=True)
class TraceConfig:
    baseline_every_rounds: int
    baseline_vantage_points: int = DEFAULT_BASELINE_VANTAGE_POINTS
    on_demand_vantage_points: int = DEFAULT_ON_DEMAND_VANTAGE_POINTS
    max_on_demand_traces: int = DEFAULT_MAX_ON_DEMAND_TRACES

    def __post_init__(self) -> None:
        if self.baseline_every_rounds < 1:
            raise ValueError(f"baseline_every_rounds must be at least 1, not {self.baseline_every_rounds}")
        if min(self.baseline_vantage_points, self.on_demand_vantage_points, self.max_on_demand_traces) < 0:
            raise ValueError("trace counts must not be negative")

    @classmethod
    def for_round_length(
        cls, round_seconds: float, baseline_every_s: float = DEFAULT_BASELINE_EVERY_S
    ) -> TraceConfig:
        return cls(baseline_every_rounds=max(1, round(baseline_every_s / max(round_seconds, 1e-9))))


def _trace_target(targets: Sequence[TargetSlot]) -> TargetSlot | None:
    candidates = [t for t in targets if t.address and ":" not in t.address]
    return min(candidates, key=lambda t: stable_hash64(f"trace|{t.target_id}"), default=None)


def vantage_points(asn: int, probes: Sequence[ProbeSlot], count: int) -> list[ProbeSlot]:
    """The first `count` probes for `asn` by rendezvous weight, one per probe AS, none inside."""
    key = stable_hash64(f"trace-as|{asn}")
    ranked = sorted(
        (p for p in probes if p.icmp and p.asn != asn),
        key=lambda p: (-pair_weight(key, stable_hash64(p.probe_id)), p.probe_id),
    )
    chosen: list[ProbeSlot] = []
    seen_asns: set[int] = set()
    for probe in ranked:
        if len(chosen) == count:
            break
        if probe.asn and probe.asn in seen_asns:
            continue
        seen_asns.add(probe.asn)
        chosen.append(probe)
    return chosen


def plan_traces(
    probes: Sequence[ProbeSlot],
    targets: Sequence[TargetSlot],
    round_number: int,
    affected: Mapping[int, object],
    config: TraceConfig,
) -> dict[str, list[TaskSpec]]:
    """Traceroute tasks by probe id. `affected`: the ASes DOWN or DEGRADED in the last round
    (their statuses; only the keys matter)."""
    by_asn: dict[int, list[TargetSlot]] = {}
    for target in targets:
        if target.asn:
            by_asn.setdefault(target.asn, []).append(target)
    plan: dict[str, list[TaskSpec]] = {}

    def add(asn: int, count: int) -> int:
        target = _trace_target(by_asn.get(asn, ()))
        if target is None:
            return 0
        template = TaskTemplate(
            Protocol.TRACEROUTE,
            target.target_id,
            target.address,
            target.name,
            needs_icmp=True,
            identity_hash=stable_hash64(f"{target.target_id}|TRACEROUTE"),
        )
        chosen = vantage_points(asn, probes, count)
        for probe in chosen:
            spec = TaskSpec(
                task_id(round_number, stable_hash64(probe.probe_id), template, TaskKind.REACHABILITY),
                TaskKind.REACHABILITY,
                Protocol.TRACEROUTE,
                target.target_id,
                target.address,
                target.name,
            )
            plan.setdefault(probe.probe_id, []).append(spec)
        return len(chosen)

    affected_asns = sorted(a for a in affected if a in by_asn)
    budget = config.max_on_demand_traces
    if affected_asns:
        start = round_number % len(affected_asns)  # take turns when the budget is short
        for asn in affected_asns[start:] + affected_asns[:start]:
            if budget <= 0:
                break
            budget -= add(asn, min(config.on_demand_vantage_points, budget))
    every = config.baseline_every_rounds
    for asn in sorted(by_asn):
        if asn not in affected and (stable_hash64(f"trace-slot|{asn}") + round_number) % every == 0:
            add(asn, config.baseline_vantage_points)
    return plan
