"""Outside-in reachability: K vantage points per target AS, by rendezvous hashing.

Targets without a `list:` tag are grouped by their AS (`TargetSlot.asn`; a target of unknown AS
is a group of its own). Each AS is measured from `vantage_points_per_as` (K) probes chosen on
the AS's rendezvous ranking of the fleet in three passes: probes outside the AS in pairwise
distinct ASes; then other probes outside the AS; then, only if the fleet has no one else, probes
inside it. The same K probes measure up to `max_targets_per_as` of the AS's targets (also
chosen by rendezvous hashing, so the choice is stable). Capabilities are matched per task
class (IPv6, ICMP): each class walks the same ranking with a capability filter, so the classes
agree wherever they can. Nothing depends on the round number: only probe churn moves work.
"""

from __future__ import annotations

from collections.abc import Callable

from vantage.collector.assignment.model import (
    Member,
    ProbeSlot,
    TargetSlot,
    TaskPlan,
    probe_as_key,
    templates_for,
)
from vantage.collector.assignment.rendezvous import choose_exact, ranked, stable_hash64, top_members
from vantage.collector.assignment.task_specs import TaskTemplate
from vantage.kinds import TaskKind


def assign_reachability(
    plan: TaskPlan, members: list[Member], targets: list[TargetSlot], *, use_numpy: bool = True
) -> None:
    config = plan.config
    by_as: dict[str, list[TargetSlot]] = {}
    for target in targets:
        by_as.setdefault(f"AS{target.asn}" if target.asn else f"target:{target.target_id}", []).append(target)
    group_keys = sorted(by_as)
    key_hashes = [stable_hash64(group_key) for group_key in group_keys]
    member_hashes = [member_hash for member_hash, _ in members]
    # A prefix deep enough that K capable probes in distinct ASes are almost always inside it.
    depth = 8 * config.vantage_points_per_as + 16
    prefixes = top_members(key_hashes, member_hashes, depth, use_numpy=use_numpy)
    for group_key, key_hash, prefix in zip(group_keys, key_hashes, prefixes, strict=True):
        as_targets = by_as[group_key]
        if len(as_targets) > config.max_targets_per_as:  # a stable choice of which ones
            as_targets = ranked(key_hash, [(stable_hash64(t.target_id), t) for t in as_targets])
            as_targets = as_targets[: config.max_targets_per_as]
        # Capability classes (needs_ipv6, needs_icmp) -> per target, that target's templates.
        templates_by_class: dict[tuple[bool, bool], list[list[TaskTemplate]]] = {}
        for target in as_targets:
            per_class: dict[tuple[bool, bool], list[TaskTemplate]] = {}
            for template in templates_for(target, config):
                per_class.setdefault((template.needs_ipv6, template.needs_icmp), []).append(template)
            for capability, group in per_class.items():
                templates_by_class.setdefault(capability, []).append(group)
        for (needs_ipv6, needs_icmp), target_groups in templates_by_class.items():
            passes = _reachability_passes(as_targets[0].asn, needs_ipv6, needs_icmp)
            vantage_points = choose_exact(
                key_hash, prefix, members, member_hashes, config.vantage_points_per_as, passes
            )
            for probe in vantage_points:
                for group in target_groups:
                    plan.add(probe, group, TaskKind.REACHABILITY)


_Pass = Callable[[ProbeSlot, list[ProbeSlot]], bool]


def _reachability_passes(target_asn: int, needs_ipv6: bool, needs_icmp: bool) -> tuple[_Pass, _Pass, _Pass]:
    """Outside the target AS in distinct ASes; then anywhere outside; then (a short fleet) anyone."""

    def capable(probe: ProbeSlot) -> bool:
        return (probe.ipv6 or not needs_ipv6) and (probe.icmp or not needs_icmp)

    def outside(probe: ProbeSlot) -> bool:
        return capable(probe) and (not target_asn or probe.asn != target_asn)

    def outside_distinct(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
        if not outside(probe):
            return False
        key = probe_as_key(probe)
        return all(key != probe_as_key(c) for c in chosen)

    return (outside_distinct, lambda probe, chosen: outside(probe), lambda probe, chosen: capable(probe))
