"""The engine's memory between rounds, and its versioned byte form.

The collector stores `EngineState.to_bytes()` after each round and hands it back (possibly to
another collector) for the next one, so everything the engine learns lives here: per-target
availability (Trinocular's A(E)), per-AS belief, status and baselines, per-country status, and the
event trackers (hysteresis counters and the open events). The byte form is compact JSON with a
format version; a state of an unknown version is refused rather than misread.

The mappings inside a state are never mutated after construction: `evaluate_round` builds new ones.
Floats are stored exactly (JSON keeps the shortest repr that round-trips), so a round computed from
the stored bytes is the round computed from the state in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from vantage.collector.verdict.model import Event, EventKind, Status
from vantage.collector.verdict.paths import PathMemory, Trace, TracedHop

STATE_FORMAT_VERSION = 1

# (availability 0..1, rounds seen, ever answered)
TargetMemory = tuple[float, int, bool]


class AsMemory(NamedTuple):
    """A NamedTuple, not a dataclass: 75,000 of them are rebuilt every round."""

    country: str
    status: Status
    since: datetime
    # log-odds that the AS is reachable, as left by the last round
    belief_logodds: float
    baseline_ratio: float | None
    baseline_loss_ratio: float | None
    baseline_rtt_ms: float | None
    baseline_rounds: int
    last_round: int


@dataclass(frozen=True, slots=True)
class CountryMemory:
    status: Status
    since: datetime


@dataclass(frozen=True, slots=True)
class EventTrack:
    """Hysteresis for one (scope, kind): streaks of rounds in and out of the status, the open event."""

    in_streak: int = 0
    in_start_round: int = 0
    in_start: datetime | None = None
    # severity and best confidence gathered by the streak before the event opened
    in_severity: float = 0.0
    in_confidence: float = 0.0
    in_last_round: int = 0
    out_streak: int = 0
    out_start_round: int = 0
    out_start: datetime | None = None
    event: Event | None = None


@dataclass(frozen=True, slots=True)
class EngineState:
    targets: dict[str, TargetMemory] = field(default_factory=dict)
    ases: dict[int, AsMemory] = field(default_factory=dict)
    countries: dict[str, CountryMemory] = field(default_factory=dict)
    # key: (scope, kind) where scope is "AS<n>" or a country code
    tracks: dict[tuple[str, EventKind], EventTrack] = field(default_factory=dict)
    last_round: int | None = None
    # The traces from before: the last reaching trace per (vantage point, target AS).
    paths: PathMemory = field(default_factory=PathMemory)

    @classmethod
    def initial(cls) -> EngineState:
        return cls()

    def to_bytes(self) -> bytes:
        document: dict[str, Any] = {
            "version": STATE_FORMAT_VERSION,
            "last_round": self.last_round,
            "targets": {tid: [a, n, int(ever)] for tid, (a, n, ever) in self.targets.items()},
            "ases": {str(asn): _as_to_json(m) for asn, m in self.ases.items()},
            "countries": {cc: [int(m.status), m.since.isoformat()] for cc, m in self.countries.items()},
            "tracks": [[scope, int(kind), _track_to_json(t)] for (scope, kind), t in self.tracks.items()],
        }
        if self.paths.before:  # absent in states written before traceroute (same version)
            document["paths"] = [_trace_to_json(t) for t in self.paths.before.values()]
        if self.paths.findings:
            document["path_findings"] = {str(asn): list(kept) for asn, kept in self.paths.findings.items()}
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EngineState:
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"verdict engine state is not valid JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("version") != STATE_FORMAT_VERSION:
            found = document.get("version") if isinstance(document, dict) else None
            raise ValueError(f"verdict engine state version {found!r} is not {STATE_FORMAT_VERSION}")
        try:
            return cls(
                targets={
                    tid: (float(a), int(n), bool(ever)) for tid, (a, n, ever) in document["targets"].items()
                },
                ases={int(asn): _as_from_json(m) for asn, m in document["ases"].items()},
                countries={
                    cc: CountryMemory(Status(status), datetime.fromisoformat(since))
                    for cc, (status, since) in document["countries"].items()
                },
                tracks={
                    (scope, EventKind(kind)): _track_from_json(t) for scope, kind, t in document["tracks"]
                },
                last_round=document["last_round"],
                paths=PathMemory(
                    {(t.probe_id, t.target_asn): t for t in map(_trace_from_json, document.get("paths", []))},
                    {
                        int(asn): (str(text), int(up_rounds))
                        for asn, (text, up_rounds) in document.get("path_findings", {}).items()
                    },
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"verdict engine state is malformed: {exc!r}") from exc


def _trace_to_json(t: Trace) -> list[Any]:
    hops = [[h.ttl, h.address, h.asn] for h in t.hops]
    return [t.probe_id, t.probe_asn, t.target_id, t.target_asn, t.started_unix_s, int(t.reached), hops]


def _trace_from_json(item: list[Any]) -> Trace:
    probe_id, probe_asn, target_id, target_asn, started, reached, hops = item
    return Trace(
        str(probe_id),
        int(probe_asn),
        str(target_id),
        int(target_asn),
        float(started),
        tuple(TracedHop(int(ttl), str(address), int(asn)) for ttl, address, asn in hops),
        bool(reached),
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _as_to_json(m: AsMemory) -> list[Any]:
    return [
        m.country,
        int(m.status),
        m.since.isoformat(),
        m.belief_logodds,
        m.baseline_ratio,
        m.baseline_loss_ratio,
        m.baseline_rtt_ms,
        m.baseline_rounds,
        m.last_round,
    ]


def _as_from_json(v: list[Any]) -> AsMemory:
    country, status, since, logodds, ratio, loss, rtt, rounds, last = v
    return AsMemory(
        country, Status(status), datetime.fromisoformat(since), logodds, ratio, loss, rtt, rounds, last
    )


def _event_to_json(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": int(e.kind),
        "asn": e.asn,
        "country": e.country,
        "started_at": e.started_at.isoformat(),
        "ended_at": _iso(e.ended_at),
        "severity": e.severity,
        "confidence": e.confidence,
        "summary": e.summary,
        "opened_round": e.opened_round,
        "updated_round": e.updated_round,
    }


def _event_from_json(d: dict[str, Any]) -> Event:
    return Event(
        id=d["id"],
        kind=EventKind(d["kind"]),
        asn=d["asn"],
        country=d["country"],
        started_at=datetime.fromisoformat(d["started_at"]),
        ended_at=_from_iso(d["ended_at"]),
        severity=d["severity"],
        confidence=d["confidence"],
        summary=d["summary"],
        opened_round=d["opened_round"],
        updated_round=d["updated_round"],
    )


def _track_to_json(t: EventTrack) -> list[Any]:
    return [
        t.in_streak,
        t.in_start_round,
        _iso(t.in_start),
        t.in_severity,
        t.in_confidence,
        t.in_last_round,
        t.out_streak,
        t.out_start_round,
        _iso(t.out_start),
        None if t.event is None else _event_to_json(t.event),
    ]


def _track_from_json(v: list[Any]) -> EventTrack:
    (
        in_streak,
        in_round,
        in_start,
        in_severity,
        in_confidence,
        in_last,
        out_streak,
        out_round,
        out_start,
        event,
    ) = v
    return EventTrack(
        in_streak,
        in_round,
        _from_iso(in_start),
        in_severity,
        in_confidence,
        in_last,
        out_streak,
        out_round,
        _from_iso(out_start),
        None if event is None else _event_from_json(event),
    )
