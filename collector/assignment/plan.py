"""Work assignment: which probe measures which target, each round. Pure and deterministic.

Two kinds of work (docs/assignment.md explains the why):

Outside-in reachability (TaskKind.REACHABILITY). Targets without a `list:` tag are grouped by
their AS (`TargetSlot.asn`; a target of unknown AS is a group of its own). Each AS is measured
from `vantage_points_per_as` (K, default 3) probes chosen by rendezvous hashing on the AS
number: first probes outside the AS in pairwise distinct ASes, then other probes outside the AS,
then, only if the fleet has no one else, probes inside it. The same K probes measure up to
`max_targets_per_as` of the AS's targets (also chosen by rendezvous hashing, so the choice is
stable). Capabilities are matched per task: ICMP tasks go only to probes with ICMP, tasks to an
IPv6 address only to probes with IPv6; each capability class is a separate rendezvous pool, and
since a pool is a subset of the fleet, the ranking (and so the choice) agrees wherever it can.
Nothing depends on the round number, so only probe churn moves this work.

Inside-out interference (TaskKind.INTERFERENCE), OONI's view. Targets tagged `list:CC` form
country CC's test list, `list:global` the global list. In round r, each list exposes a window of
consecutive targets in a fixed hash order, starting at (r × window) mod n: the window rotates so
the whole list is covered every ceil(n / window) rounds, and all probes measure the same window
in the same round, which makes their results comparable. Every probe in country CC measures up
to `country_list_share` targets of CC's window; every probe measures up to `global_list_share`
of the global window (so probes of different countries are each other's controls there). For
each target of a country window, `control_probes_per_target` probes outside CC (distinct ASes,
distinct countries first) measure it too: if it fails inside and works outside, that is
interference, not an outage of the site.

Politeness: no target is measured by more than `max_probes_per_target` probes in a round
(counting every kind). Country windows widen when a country has more probes than the cap
allows on one window, so that the probes spread over more targets instead of piling onto one.

Data types (assignment/model.py): ProbeSlot, TargetSlot, AssignmentConfig; TaskSpec
(assignment/task_specs.py): one task, with an id f"r{round}-{16 hex digits}". The two kinds of work live in
assignment/outside_in.py and assignment/inside_out.py; assignment/rendezvous.py holds the hashing.
"""

from __future__ import annotations

from collections.abc import Sequence

from vantage.collector.assignment.inside_out import assign_interference
from vantage.collector.assignment.model import AssignmentConfig, Member, ProbeSlot, TargetSlot, TaskPlan
from vantage.collector.assignment.outside_in import assign_reachability
from vantage.collector.assignment.task_specs import TaskSpec

__all__ = ["AssignmentConfig", "ProbeSlot", "TargetSlot", "TaskSpec", "assign_round"]


def assign_round(
    probes: Sequence[ProbeSlot],
    targets: Sequence[TargetSlot],
    round_number: int,
    config: AssignmentConfig,
    *,
    use_numpy: bool = True,
) -> dict[str, list[TaskSpec]]:
    """Every probe's tasks for the round (every probe is a key, possibly with no tasks).

    use_numpy=False computes the same answer without the numpy accelerator (tests compare).
    """
    fleet = sorted(probes, key=lambda probe: probe.probe_id)
    if len({probe.probe_id for probe in fleet}) != len(fleet):
        raise ValueError("assign_round: duplicate probe_id")
    plan = TaskPlan(fleet, round_number, config)
    members: list[Member] = [(plan.probe_hashes[probe.probe_id], probe) for probe in fleet]
    ordered_targets = sorted(targets, key=lambda target: target.target_id)
    assign_reachability(plan, members, [t for t in ordered_targets if not t.list_scopes], use_numpy=use_numpy)
    assign_interference(plan, members, [t for t in ordered_targets if t.list_scopes], use_numpy=use_numpy)
    return plan.tasks
