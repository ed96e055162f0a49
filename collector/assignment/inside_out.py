"""Inside-out interference: rotating windows of the test lists, with controls elsewhere.

Targets tagged `list:CC` form country CC's test list, `list:global` the global list. In round r
each list exposes a window of consecutive targets in a fixed hash order, starting at
(r × window) mod n: the window rotates so the whole list is covered every ceil(n / window)
rounds, and all probes measure the same window in the same round, which makes their results
comparable. Every probe in CC measures up to `country_list_share` targets of CC's window; every
probe measures up to `global_list_share` of the global window (so probes of different countries
are each other's controls there). For each target of a country window,
`control_probes_per_target` probes outside CC (distinct ASes, distinct countries first) measure
it too: if it fails inside and works outside, that is interference, not an outage of the site.
Country windows widen when a country has more probes than the per-target cap allows on one
window, so the probes spread over more targets instead of piling onto one.
"""

from __future__ import annotations

import math

from vantage.collector.assignment.model import (
    Member,
    ProbeSlot,
    TargetSlot,
    TaskPlan,
    capable,
    probe_as_key,
    templates_for,
)
from vantage.collector.assignment.rendezvous import choose_exact, ranked, stable_hash64, top_members
from vantage.collector.assignment.task_specs import TaskTemplate
from vantage.kinds import TaskKind


def assign_interference(
    plan: TaskPlan, members: list[Member], targets: list[TargetSlot], *, use_numpy: bool = True
) -> None:
    config = plan.config
    lists: dict[str, list[TargetSlot]] = {}
    for target in targets:
        for scope in target.list_scopes:
            lists.setdefault(scope, []).append(target)
    templates = {target.target_id: templates_for(target, config) for target in targets}
    # Country lists first: they are each country's own view and need room for their controls.
    for scope in sorted(lists, key=lambda s: (s == "global", s)):
        is_global = scope == "global"
        participants = members if is_global else [m for m in members if m[1].country == scope]
        if not participants:
            continue
        share = config.global_list_share if is_global else config.country_list_share
        controls = 0 if is_global else config.control_probes_per_target
        inside_cap = max(1, config.max_probes_per_target - controls)
        window = _window(lists[scope], plan.round_number, share, len(participants), inside_cap)
        # Probes, in an order that rotates with the round, take consecutive runs of `share` targets
        # around the window: each target gets about participants × share / window probes (never
        # more than the cap), and it costs O(share) per probe, not O(window).
        for position, probe in enumerate(ranked(stable_hash64(f"{scope}|{plan.round_number}"), participants)):
            taken = 0
            for step in range(len(window)):
                if taken == share:
                    break
                target = window[(position * share + step) % len(window)]
                inside_load = len(plan.probes_of_target.get(target.target_id, ()))
                if inside_load < inside_cap and plan.add(
                    probe, templates[target.target_id], TaskKind.INTERFERENCE
                ):
                    taken += 1
        if controls:
            outsiders = [m for m in members if m[1].country and m[1].country != scope]
            _add_controls(plan, window, outsiders, templates, controls, use_numpy)


def _window(
    order_source: list[TargetSlot], round_number: int, share: int, participants: int, inside_cap: int
) -> list[TargetSlot]:
    """This round's slice of a list: consecutive targets in hash order, wide enough for everyone's share."""
    order = sorted(order_source, key=lambda t: (stable_hash64(t.target_id), t.target_id))
    size = share
    if participants > inside_cap:
        # Spread over enough targets for everyone's share under the cap, plus `share` spare ones:
        # with them, the last probe to pick still finds `share` targets that have room.
        size = math.ceil(participants * share / inside_cap) + share
    size = min(len(order), size)
    if size == 0:
        return []
    start = (round_number * size) % len(order)
    return [order[(start + offset) % len(order)] for offset in range(size)]


def _add_controls(
    plan: TaskPlan,
    window: list[TargetSlot],
    outsiders: list[Member],
    templates: dict[str, list[TaskTemplate]],
    count: int,
    use_numpy: bool,
) -> None:
    """For each window target, `count` probes outside the country: distinct ASes and countries first."""
    if not outsiders or not window:
        return
    key_hashes = [stable_hash64(target.target_id) for target in window]
    outsider_hashes = [member_hash for member_hash, _ in outsiders]
    prefixes = top_members(key_hashes, outsider_hashes, 8 * count + 16, use_numpy=use_numpy)
    for target, key_hash, prefix in zip(window, key_hashes, prefixes, strict=True):
        target_templates = templates[target.target_id]

        def able(probe: ProbeSlot, target_templates: list[TaskTemplate] = target_templates) -> bool:
            return any(capable(probe, template) for template in target_templates)

        def new_as_and_country(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
            key = probe_as_key(probe)
            return able(probe) and all(key != probe_as_key(c) and probe.country != c.country for c in chosen)

        def new_as(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
            key = probe_as_key(probe)
            return able(probe) and all(key != probe_as_key(c) for c in chosen)

        def anyone(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
            return able(probe)

        passes = (new_as_and_country, new_as, anyone)
        for probe in choose_exact(key_hash, prefix, outsiders, outsider_hashes, count, passes):
            plan.add(probe, target_templates, TaskKind.INTERFERENCE)
