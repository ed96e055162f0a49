"""The data of work assignment: probes, targets, configuration, and the plan being built.

- ProbeSlot(probe_id, asn, country, icmp, ipv6): asn 0 / country "" when unknown; icmp: can send
  ICMP echo (raw or datagram socket); ipv6: has IPv6 connectivity.
- TargetSlot(target_id, address, name, url, port, protocols, asn, country, tags): address is the
  IP to measure ("" when only a name or URL is known: ICMP/TCP need it); port is the TCP (or DNS
  server) port, 0 = none; asn/country of the target (0 / "" when unknown); tags as in
  docs/assignment.md (`list:`, `port:`, `qname:`, `qtype:`, `expect:`). TargetSlot.from_row builds one
  from a parsed target file row.
- AssignmentConfig: the knobs, with defaults and where they come from.
- TaskPlan: the tasks of a round being built; the per-target cap is enforced in TaskPlan.add,
  the one place tasks are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vantage.collector.assignment.rendezvous import stable_hash64
from vantage.collector.assignment.task_specs import TaskMaker, TaskSpec, TaskTemplate, build_templates
from vantage.collector.targets.files import TargetRow, tag_values
from vantage.collector.targets.hostnames import parse_http_url
from vantage.kinds import Protocol, TaskKind

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


Member = tuple[int, ProbeSlot]  # (stable hash of probe_id, probe)


class TaskPlan:
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
        runnable = [t for t in templates if capable(probe, t)]
        if not runnable or not self.room_for(runnable[0].target_id, probe.probe_id):
            return False
        self.probes_of_target.setdefault(runnable[0].target_id, set()).add(probe.probe_id)
        probe_hash, make = self.probe_hashes[probe.probe_id], self.maker.make
        self.tasks[probe.probe_id].extend(make(template, probe_hash, kind) for template in runnable)
        return True


def capable(probe: ProbeSlot, template: TaskTemplate) -> bool:
    return (probe.icmp or not template.needs_icmp) and (probe.ipv6 or not template.needs_ipv6)


def probe_as_key(probe: ProbeSlot) -> str:
    """Probes of unknown AS count as distinct from every other probe."""
    return f"AS{probe.asn}" if probe.asn else f"probe:{probe.probe_id}"


def templates_for(target: TargetSlot, config: AssignmentConfig) -> list[TaskTemplate]:
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
