"""Plain data in and out of the verdict engine (no I/O, no protobuf).

This module is the contract between the collector (which turns stored
measurements into `Observation`s and stores/serves what comes out) and the
verdict engine (which decides). Enum values equal the vantage.v1 wire numbers
so conversion is a cast.

`Observation` is a NamedTuple, not a dataclass: a whole-Internet round is
millions of them, and a NamedTuple is built several times faster than a frozen
dataclass while staying immutable and typed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from vantage.collector.bgp.model import AsRouting
from vantage.collector.verdict.paths import Localisation
from vantage.kinds import Outcome, Protocol, TaskKind

__all__ = [
    "LAYER_NAMES",
    "MECHANISM_NAMES",
    "AsVerdict",
    "CountryVerdict",
    "Event",
    "EventKind",
    "Evidence",
    "FailureCount",
    "FilteredTarget",
    "Layer",
    "Mechanism",
    "Observation",
    "Outcome",
    "Protocol",
    "ProtocolStat",
    "Status",
    "TaskKind",
]


class Status(enum.IntEnum):
    """Equals vantage.v1.Status."""

    UNSPECIFIED = 0
    UP = 1
    DEGRADED = 2
    DOWN = 3
    FILTERED = 4
    UNKNOWN = 5


class EventKind(enum.IntEnum):
    """Equals vantage.v1.EventKind."""

    UNSPECIFIED = 0
    OUTAGE = 1
    DEGRADATION = 2
    FILTERING = 3


class Mechanism(enum.IntEnum):
    """How an AS is cut off or interfered with (collector/verdict/mechanism.py decides it).

    Equals vantage.v1.Mechanism; NONE is MECHANISM_UNSPECIFIED on the wire: nothing is wrong, so
    there is no mechanism to name."""

    NONE = 0
    BGP_WITHDRAWAL = 1  # routes gone from the table, probes fail
    DATA_PLANE = 2  # routes present, probes fail: blackholing or firewalling
    THROTTLING = 3  # loss or RTT far above the AS's baseline
    PARTIAL = 4  # part of the AS's targets or paths fail
    SERVICE_BLOCKING = 5  # reachable, but inside-out interference at one layer (Layer)
    UNKNOWN = 6  # probes fail but no routing signal says whether routes are up


class Layer(enum.IntEnum):
    """Where service blocking shows. Equals vantage.v1.InterferenceLayer."""

    UNSPECIFIED = 0
    DNS = 1
    TCP = 2
    TLS = 3
    HTTP = 4


# The names the surfaces print (CLI, web, JSON, the Prometheus label): a closed, bounded set.
MECHANISM_NAMES: dict[Mechanism, str] = {
    Mechanism.NONE: "none",
    Mechanism.BGP_WITHDRAWAL: "bgp_withdrawal",
    Mechanism.DATA_PLANE: "data_plane",
    Mechanism.THROTTLING: "throttling",
    Mechanism.PARTIAL: "partial",
    Mechanism.SERVICE_BLOCKING: "service_blocking",
    Mechanism.UNKNOWN: "unknown",
}
LAYER_NAMES: dict[Layer, str] = {
    Layer.UNSPECIFIED: "",
    Layer.DNS: "dns",
    Layer.TCP: "tcp",
    Layer.TLS: "tls",
    Layer.HTTP: "http",
}


class Observation(NamedTuple):
    """One measurement as the verdict engine sees it."""

    probe_id: str
    probe_asn: int
    probe_country: str
    target_id: str
    target_asn: int
    target_country: str
    protocol: Protocol
    kind: TaskKind
    outcome: Outcome
    # A string of vantage.failures.FAILURE_KINDS when outcome is FAILURE, else "".
    failure: str = ""
    rtt_ms: float | None = None
    # ICMP: share of echo requests unanswered (0..1).
    loss_ratio: float | None = None
    # DNS: the ASes of the addresses in the answer (for consistency with control).
    answer_asns: frozenset[int] = frozenset()
    # HTTP: what came back, for comparing with control vantage points.
    status_code: int = 0
    body_sha256: str = ""
    body_length: int = 0


@dataclass(frozen=True, slots=True)
class ProtocolStat:
    protocol: Protocol
    attempts: int
    successes: int

    @property
    def success_ratio(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0


@dataclass(frozen=True, slots=True)
class FailureCount:
    failure: str
    protocol: Protocol
    count: int


@dataclass(frozen=True, slots=True)
class FilteredTarget:
    """A target failing from inside the AS that works from control vantage points."""

    target_id: str
    protocol: Protocol
    failure: str
    inside_failures: int
    control_successes: int


@dataclass(frozen=True, slots=True)
class Evidence:
    vantage_points: int
    vantage_asns: tuple[int, ...]
    targets: int
    protocols: tuple[ProtocolStat, ...]
    failures: tuple[FailureCount, ...]
    loss_ratio: float | None
    baseline_loss_ratio: float | None
    rtt_ms: float | None
    baseline_rtt_ms: float | None
    # Probes whose view disagreed with the corroborated verdict, or excluded as offline.
    suspect_probes: tuple[str, ...]
    filtered_targets: tuple[FilteredTarget, ...]
    reachability_status: Status
    interference_status: Status
    inside_vantage_points: int
    summary: str
    # Where the paths towards the AS stop (collector/verdict/paths.py), when it was traced.
    path: Localisation | None = None
    # Why the verdict's mechanism is what it is, one sentence a person can read (mechanism.py),
    # and the routing signal it was fused with (None: no routing signal for this AS this round).
    mechanism_reason: str = ""
    routing: AsRouting | None = None


@dataclass(frozen=True, slots=True)
class AsVerdict:
    asn: int
    country: str
    status: Status
    confidence: float  # 0..1
    belief: float  # posterior belief that the AS is reachable (outside-in), 0..1
    # Share of this round's measurements of the AS that succeeded (the curve to plot).
    reachability_ratio: float
    # Since when the AS has had this status (start of the round it began).
    since: datetime
    evidence: Evidence
    mechanism: Mechanism = Mechanism.NONE
    layer: Layer = Layer.UNSPECIFIED  # SERVICE_BLOCKING only


@dataclass(frozen=True, slots=True)
class CountryVerdict:
    country: str
    status: Status
    confidence: float
    affected_share: float  # weighted share of measured ASes affected, 0..1
    measured_ases: int
    driving_asns: tuple[int, ...]  # worst first
    reachability_ratio: float
    since: datetime
    summary: str
    mechanism: Mechanism = Mechanism.NONE
    layer: Layer = Layer.UNSPECIFIED
    mechanism_reason: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """An outage, degradation or filtering event for one AS (asn) or one country."""

    id: str  # deterministic: same input, same id
    kind: EventKind
    asn: int  # 0 for a country event
    country: str  # the AS's country, or the country of a country event
    started_at: datetime
    ended_at: datetime | None  # None while open
    severity: float  # relative drop x duration in minutes (IODA's alert area)
    confidence: float
    summary: str
    opened_round: int
    updated_round: int
    # The mechanism of the event's latest round in (mechanism.py), with its reason.
    mechanism: Mechanism = Mechanism.NONE
    layer: Layer = Layer.UNSPECIFIED
    mechanism_reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
