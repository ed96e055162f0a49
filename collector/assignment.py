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

Data types:
- ProbeSlot(probe_id, asn, country, icmp, ipv6): asn 0 / country "" when unknown; icmp: can send
  ICMP echo (raw or datagram socket); ipv6: has IPv6 connectivity.
- TargetSlot(target_id, address, name, url, port, protocols, asn, country, tags): address is the
  IP to measure ("" when only a name or URL is known: ICMP/TCP need it); port is the TCP (or DNS
  server) port, 0 = none; asn/country of the target (0 / "" when unknown); tags as in
  contracts.md (`list:`, `port:`, `qname:`, `qtype:`, `expect:`). TargetSlot.from_row builds one
  from a parsed target file row.
- TaskSpec (task_specs.py): one task; task ids are f"r{round}-{16 hex digits}".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vantage.collector.hostnames import parse_http_url
from vantage.collector.rendezvous import (
    choose,
    choose_in_order,
    ranked,
    ranked_indices,
    stable_hash64,
    top_members,
)
from vantage.collector.targets import TargetRow, tag_values
from vantage.collector.task_specs import TaskMaker, TaskSpec, TaskTemplate, build_templates
from vantage.kinds import Protocol, TaskKind

__all__ = ["AssignmentConfig", "ProbeSlot", "TargetSlot", "TaskSpec", "assign_round"]

# The default: three independent outside views let a majority out-vote one broken probe.
DEFAULT_VANTAGE_POINTS_PER_AS = 3
# Enough to tell "one host is down" from "the AS is down" without measuring every host each round.
DEFAULT_MAX_TARGETS_PER_AS = 4
# Politeness: 10 probes × (3 ICMP echoes + a TCP/HTTP/DNS exchange) per 300 s round is about
# 0.15 requests per second at a target, far below any rate limit or abuse threshold.
DEFAULT_MAX_PROBES_PER_TARGET = 10
# OONI Probe tests its country list in full about daily; 10 URLs per 5-minute round covers a
# 1,000-URL list (Citizen Lab's largest country lists) in under 9 hours per probe.
DEFAULT_COUNTRY_LIST_SHARE = 10
DEFAULT_GLOBAL_LIST_SHARE = 5
# Two outside views: one control can itself be broken or filtered; two that agree are evidence.
DEFAULT_CONTROL_PROBES_PER_TARGET = 2


@dataclass(frozen=True, slots=True)
class ProbeSlot:
    probe_id: str
    asn: int  # 0 = unknown
    country: str  # ISO 3166-1 alpha-2, "" = unknown
    icmp: bool  # can send ICMP echo requests
    ipv6: bool  # has IPv6 connectivity


@dataclass(frozen=True, slots=True)
class TargetSlot:
    target_id: str
    address: str = ""
    name: str = ""
    url: str = ""
    port: int = 0
    protocols: tuple[Protocol, ...] = ()
    asn: int = 0  # 0 = unknown
    country: str = ""  # "" = unknown
    tags: tuple[str, ...] = ()

    @property
    def list_scopes(self) -> tuple[str, ...]:
        """The test lists the target is on: "global" and/or country codes; () = not a test-list target."""
        return tag_values(self.tags, "list")

    @classmethod
    def from_row(cls, row: TargetRow, *, target_id: str, asn: int = 0, country: str = "") -> TargetSlot:
        """A slot for a parsed target-file row; asn/country (the caller's lookup) fill what the row lacks."""
        address = name = url = ""
        port = int(tag_values(row.tags, "port")[0]) if tag_values(row.tags, "port") else 0
        if row.kind == "address":
            address = row.target
        elif row.kind == "hostname":
            name = row.target
        else:
            parsed = parse_http_url(row.target)
            url = row.target
            address, name = (parsed.host, "") if parsed.host_is_address else ("", parsed.host)
            port = port or parsed.port
        return cls(
            target_id=target_id,
            address=address,
            name=name,
            url=url,
            port=port,
            protocols=row.protocols,
            asn=row.asn or asn,
            country=row.country or country,
            tags=row.tags,
        )


@dataclass(frozen=True, slots=True)
class AssignmentConfig:
    vantage_points_per_as: int = DEFAULT_VANTAGE_POINTS_PER_AS
    max_targets_per_as: int = DEFAULT_MAX_TARGETS_PER_AS
    max_probes_per_target: int = DEFAULT_MAX_PROBES_PER_TARGET
    country_list_share: int = DEFAULT_COUNTRY_LIST_SHARE
    global_list_share: int = DEFAULT_GLOBAL_LIST_SHARE
    control_probes_per_target: int = DEFAULT_CONTROL_PROBES_PER_TARGET
    dns_resolver_address: str = ""  # for DNS tasks of host name / URL targets; "" = skip those
    icmp_count: int = 0  # 0 = the probe's defaults
    icmp_interval_ms: int = 0
    timeout_ms: int = 0

    def __post_init__(self) -> None:
        for name in ("vantage_points_per_as", "max_targets_per_as", "max_probes_per_target"):
            if getattr(self, name) < 1:
                raise ValueError(f"AssignmentConfig.{name} must be at least 1")
        for name in ("country_list_share", "global_list_share", "control_probes_per_target"):
            if getattr(self, name) < 0:
                raise ValueError(f"AssignmentConfig.{name} must not be negative")


_Member = tuple[int, ProbeSlot]  # (stable hash of probe_id, probe)


class _Plan:
    """Tasks being assigned, with the per-target cap enforced at the one place tasks are added."""

    def __init__(self, probes: Sequence[ProbeSlot], round_number: int, config: AssignmentConfig) -> None:
        self.round_number = round_number
        self.config = config
        self.tasks: dict[str, list[TaskSpec]] = {probe.probe_id: [] for probe in probes}
        self.probes_of_target: dict[str, set[str]] = {}
        self.probe_hashes = {probe.probe_id: stable_hash64(probe.probe_id) for probe in probes}
        self.maker = TaskMaker(round_number, config.icmp_count, config.icmp_interval_ms, config.timeout_ms)

    def room_for(self, target_id: str, probe_id: str) -> bool:
        probes = self.probes_of_target.get(target_id, ())
        return probe_id in probes or len(probes) < self.config.max_probes_per_target

    def add(self, probe: ProbeSlot, templates: Sequence[TaskTemplate], kind: TaskKind) -> bool:
        """Give the probe every template it is capable of; False (and nothing added) when none or no room."""
        runnable = [t for t in templates if _capable(probe, t)]
        if not runnable or not self.room_for(runnable[0].target_id, probe.probe_id):
            return False
        self.probes_of_target.setdefault(runnable[0].target_id, set()).add(probe.probe_id)
        probe_hash, make = self.probe_hashes[probe.probe_id], self.maker.make
        self.tasks[probe.probe_id].extend(make(template, probe_hash, kind) for template in runnable)
        return True


def _capable(probe: ProbeSlot, template: TaskTemplate) -> bool:
    return (probe.icmp or not template.needs_icmp) and (probe.ipv6 or not template.needs_ipv6)


def _as_key(probe: ProbeSlot) -> str:
    """Probes of unknown AS count as distinct from every other probe."""
    return f"AS{probe.asn}" if probe.asn else f"probe:{probe.probe_id}"


def _templates(target: TargetSlot, config: AssignmentConfig) -> list[TaskTemplate]:
    return build_templates(
        target_id=target.target_id,
        address=target.address,
        name=target.name,
        url=target.url,
        port=target.port,
        protocols=target.protocols,
        tags=target.tags,
        dns_resolver_address=config.dns_resolver_address,
    )


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
    plan = _Plan(fleet, round_number, config)
    members: list[_Member] = [(plan.probe_hashes[probe.probe_id], probe) for probe in fleet]
    ordered_targets = sorted(targets, key=lambda target: target.target_id)
    _assign_reachability(
        plan, members, [t for t in ordered_targets if not t.list_scopes], use_numpy=use_numpy
    )
    _assign_interference(plan, members, [t for t in ordered_targets if t.list_scopes])
    return plan.tasks


def _assign_reachability(
    plan: _Plan, members: list[_Member], targets: list[TargetSlot], *, use_numpy: bool = True
) -> None:
    config = plan.config
    by_as: dict[str, list[TargetSlot]] = {}
    for target in targets:
        by_as.setdefault(f"AS{target.asn}" if target.asn else f"target:{target.target_id}", []).append(target)
    as_keys = sorted(by_as)
    key_hashes = [stable_hash64(as_key) for as_key in as_keys]
    member_hashes = [member_hash for member_hash, _ in members]
    # A prefix deep enough that K capable probes in distinct ASes are almost always inside it.
    depth = 8 * config.vantage_points_per_as + 16
    prefixes = top_members(key_hashes, member_hashes, depth, use_numpy=use_numpy)
    for as_key, key_hash, prefix in zip(as_keys, key_hashes, prefixes, strict=True):
        as_targets = by_as[as_key]
        if len(as_targets) > config.max_targets_per_as:  # a stable choice of which ones
            as_targets = ranked(key_hash, [(stable_hash64(t.target_id), t) for t in as_targets])
            as_targets = as_targets[: config.max_targets_per_as]
        # Capability classes (needs_ipv6, needs_icmp) -> per target, that target's templates.
        templates_by_class: dict[tuple[bool, bool], list[list[TaskTemplate]]] = {}
        for target in as_targets:
            per_class: dict[tuple[bool, bool], list[TaskTemplate]] = {}
            for template in _templates(target, config):
                per_class.setdefault((template.needs_ipv6, template.needs_icmp), []).append(template)
            for capability, group in per_class.items():
                templates_by_class.setdefault(capability, []).append(group)
        order = [members[index][1] for index in prefix]
        for (needs_ipv6, needs_icmp), target_groups in templates_by_class.items():
            passes = _reachability_passes(as_targets[0].asn, needs_ipv6, needs_icmp)
            vantage_points = choose_in_order(order, config.vantage_points_per_as, passes[:1])
            if len(vantage_points) < config.vantage_points_per_as:
                full_order = order
                if len(prefix) < len(members):  # exactness: the relaxed passes need the full ranking
                    full_order = [members[index][1] for index in ranked_indices(key_hash, member_hashes)]
                vantage_points = choose_in_order(full_order, config.vantage_points_per_as, passes)
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
        key = _as_key(probe)
        return all(key != _as_key(c) for c in chosen)

    return (outside_distinct, lambda probe, chosen: outside(probe), lambda probe, chosen: capable(probe))


def _assign_interference(plan: _Plan, members: list[_Member], targets: list[TargetSlot]) -> None:
    config = plan.config
    lists: dict[str, list[TargetSlot]] = {}
    for target in targets:
        for scope in target.list_scopes:
            lists.setdefault(scope, []).append(target)
    templates = {target.target_id: _templates(target, config) for target in targets}
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
        window_members = [(stable_hash64(t.target_id), t) for t in window]
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
            for key_hash, target in window_members:
                _add_controls(plan, key_hash, outsiders, templates[target.target_id], controls)


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
    plan: _Plan, key_hash: int, outsiders: list[_Member], templates: list[TaskTemplate], count: int
) -> None:
    capable = [m for m in outsiders if any(_capable(m[1], t) for t in templates)]

    def new_as_and_country(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
        return all(_as_key(probe) != _as_key(c) and probe.country != c.country for c in chosen)

    def new_as(probe: ProbeSlot, chosen: list[ProbeSlot]) -> bool:
        return all(_as_key(probe) != _as_key(c) for c in chosen)

    for probe in choose(key_hash, capable, count, (new_as_and_country, new_as, lambda p, c: True)):
        plan.add(probe, templates, TaskKind.INTERFERENCE)
