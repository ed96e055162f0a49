"""What a page shows: plain frozen values (web/views.py builds them from QueryService messages).

Templates (web/templates/), feeds (web/feeds.py) and charts (web/charts.py) read
only these values; every string here is still raw text (AS names and target URLs
come from datasets and users): escaping is the template engine's job, on output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

STATUS_ORDER = ("DOWN", "FILTERED", "DEGRADED", "UNKNOWN", "UP")


def utc(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration_words(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True, slots=True)
class ProtocolLine:
    protocol: str
    successes: int
    attempts: int


@dataclass(frozen=True, slots=True)
class FailureLine:
    failure: str
    protocol: str
    count: int


@dataclass(frozen=True, slots=True)
class FilteredLine:
    target: str
    protocol: str
    failure: str
    inside_failures: int
    control_successes: int


@dataclass(frozen=True, slots=True)
class EvidenceView:
    summary: str
    vantage_points: int
    vantage_ases: int
    targets: int
    vantage_asns: tuple[int, ...]
    protocols: tuple[ProtocolLine, ...]
    failures: tuple[FailureLine, ...]
    filtered: tuple[FilteredLine, ...]
    suspect_probes: int
    # Why the mechanism is what it is (collector/verdict/mechanism.py), and the routes' own line.
    mechanism_reason: str = ""
    routing: str = ""


@dataclass(frozen=True, slots=True)
class AsRow:
    asn: int
    name: str
    country: str
    status: str
    confidence_pct: int
    since: str
    round: int
    round_start_unix_s: float
    evidence: EvidenceView
    algorithm_version: str
    mechanism: str = ""  # "" when nothing is wrong; else e.g. "bgp_withdrawal", "service_blocking/tls"

    @property
    def label(self) -> str:
        return f"AS{self.asn} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class CountryRow:
    country: str
    status: str
    confidence_pct: int
    since: str
    summary: str
    affected_pct: int
    measured_ases: int
    round: int
    round_start_unix_s: float
    mechanism: str = ""
    mechanism_reason: str = ""


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: str
    kind: str
    ongoing: bool
    asn: int
    country: str
    started_unix_s: float
    ended_unix_s: float | None
    started: str
    ended: str  # "ongoing" while open
    duration: str
    severity: float
    confidence_pct: int
    summary: str
    mechanism: str = ""
    mechanism_reason: str = ""

    @property
    def scope(self) -> str:
        return f"AS{self.asn}" if self.asn else self.country

    @property
    def scope_path(self) -> str:
        return f"/as/{self.asn}" if self.asn else f"/country/{self.country}"

    @property
    def title(self) -> str:
        return f"{self.kind} {self.scope}"


@dataclass(frozen=True, slots=True)
class Point:
    round: int
    round_start_unix_s: float
    status: str
    confidence: float
    reachability: float  # 0..1
    mechanism: str = ""


@dataclass(frozen=True, slots=True)
class Timeline:
    points: tuple[Point, ...]
    events: tuple[EventRow, ...]


@dataclass(frozen=True, slots=True)
class Overview:
    last_round: int
    last_round_at: str  # "" before the first round
    countries: tuple[CountryRow, ...]  # not UP, worst first
    ases: tuple[AsRow, ...]  # not UP, worst first
    events: tuple[EventRow, ...]  # ongoing first


@dataclass(frozen=True, slots=True)
class AsCoverageRow:
    """One AS in GetCoverage: whether the collector can analyse it, and why not."""

    asn: int
    name: str
    targets: int
    vantage_points: int
    vantage_ases: int
    blocks_responsive: int
    blocks_known: int
    analysable: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the country's verdict rests on: counted from its ASes' evidence, and GetCoverage's
    view (address space, analysable ASes) when the collector has one."""

    measured_ases: int
    targets: int
    vantage_points: int  # the most any of its ASes was measured from this round
    vantage_ases: int
    analysable_pct: int | None = None  # share of the country's addresses in analysable ASes
    addresses: int = 0
    ases: int = 0
    analysable_ases: int = 0
    rows: tuple[AsCoverageRow, ...] = ()


@dataclass(frozen=True, slots=True)
class CountryPage:
    status: CountryRow
    ases: tuple[AsRow, ...]
    timeline: Timeline
    events: tuple[EventRow, ...]
    coverage: Coverage


@dataclass(frozen=True, slots=True)
class AsPage:
    status: AsRow
    timeline: Timeline


@dataclass(frozen=True, slots=True)
class EventPage:
    event: EventRow
    affected: tuple[AsRow, ...]  # the AS itself, or the country's driving ASes
    peak: Point | None  # the round with the lowest share answered while the event lasted
    timeline: Timeline


@dataclass(frozen=True, slots=True)
class FleetRow:
    country: str
    asn: int
    probes: int
    connected: int  # alive: in contact within the collector's silence threshold
    silent: int
    revoked: int
    suspect: int


@dataclass(frozen=True, slots=True)
class Fleet:
    rows: tuple[FleetRow, ...]
    probes: int
    connected: int
    countries: int


def timeline_csv(scope: str, view: Timeline) -> str:
    """One row per round: what a spreadsheet or a newsroom's own chart needs."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "round", "round_start_utc", "status", "confidence", "reachability_ratio"])
    for p in view.points:
        stamp = datetime.fromtimestamp(p.round_start_unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        writer.writerow([scope, p.round, stamp, p.status, f"{p.confidence:.3f}", f"{p.reachability:.4f}"])
    return out.getvalue()
