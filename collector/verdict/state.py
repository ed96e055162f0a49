"""The engine's memory between rounds, and its versioned byte form.

The collector stores the state after each round and hands it back (possibly to another collector)
for the next one, so everything the engine learns lives here: per-target availability
(Trinocular's A(E)), per-AS belief, status and baselines, per-country status, and the event
trackers (hysteresis counters and the open events).

Two byte forms, both compact JSON with a format version (a state of an unknown version is refused
rather than misread): `to_bytes` is the whole state as one document; `rows` cuts it into one row
per AS (its memory, its event trackers and the targets whose home it is) plus one "meta" row
(round, countries, country trackers), so that a round writes only the rows of the ASes it touched
(`RoundOutput.changed_asns`) and an AS forgotten by the engine is a deleted row. `from_rows` reads
them back. The state stays bounded: `target_home` and `target_last_round` say where and when each
target was last measured, and the engine forgets what was not measured for `VerdictConfig.forget_after_s`.

The mappings inside a state are never mutated after construction: `evaluate_round` builds new ones.
Floats are stored exactly (JSON keeps the shortest repr that round-trips), so a round computed from
the stored bytes is the round computed from the state in memory.
"""

from __future__ import annotations

import functools
import json
import re
import struct
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from vantage.collector.verdict.model import Event, EventKind, Layer, Mechanism, Status
from vantage.collector.verdict.paths import PathMemory, Trace, TracedHop

STATE_FORMAT_VERSION = 1
# 2: an AS row's targets in columns (_as_row); rows of version 1 (JSON) are still read, also among
# rows of version 2, since a round rewrites only the rows it changed.
ROWS_FORMAT_VERSION = 2
_ROWS_FORMATS_READ = (1, 2)
_ROW_V2 = b"\x02"  # first byte of a version-2 AS row; a JSON row starts with "["
_ROW_HEAD = struct.Struct("<III")  # length of the JSON head, number of targets, length of the ids
META_ROW = "meta"
_AS_SCOPE = re.compile(r"AS(\d+)")  # a country scope is a two-letter code ("AS" is American Samoa)

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
    # Its weight in its country's roll-up (collector/verdict/country.py), learned like the baselines
    # from the rounds judged UP: targets measured from outside plus inside-out targets judged. A
    # round that lacks one probe's batch (late, or cut off) must not make the AS weigh less.
    # 0.0: not learned yet (also in rows written before it was kept).
    weight: float = 0.0


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
    # target id -> the AS it was last measured in (where its row lives) / the last round it was
    # measured (when to forget it). Two flat dicts: a round updates 750,000 of each in C.
    target_home: dict[str, int] = field(default_factory=dict)
    target_last_round: dict[str, int] = field(default_factory=dict)
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
            "home": self.target_home,
            "last_round_of": self.target_last_round,
        }
        if self.paths.before:  # absent in states written before traceroute (same version)
            document["paths"] = [_trace_to_json(t) for t in self.paths.before.values()]
        if self.paths.findings:
            document["path_findings"] = {str(asn): list(kept) for asn, kept in self.paths.findings.items()}
        if self.paths.during:
            document["path_during"] = [_trace_to_json(t) for t in self.paths.during.values()]
        return json.dumps(document, separators=(",", ":")).encode()

    def rows(self, asns: Collection[int] | None = None) -> dict[str, bytes | None]:
        """The per-AS rows of these ASes (all when None) and the meta row; None for an AS the
        state no longer holds anything of (a row to delete)."""
        wanted = set(self.ases) | set(self.target_home.values()) if asns is None else set(asns)
        tracks_of: dict[int, list[list[Any]]] = {}
        meta_tracks: list[list[Any]] = []
        for (scope, kind), t in self.tracks.items():
            match = _AS_SCOPE.fullmatch(scope)
            if match is None:
                meta_tracks.append([scope, int(kind), _track_to_json(t)])
            elif int(match.group(1)) in wanted:
                tracks_of.setdefault(int(match.group(1)), []).append([int(kind), _track_to_json(t)])
        ids_of: dict[int, list[str]] = {}
        for tid, asn in self.target_home.items():
            if asn in wanted:
                ids = ids_of.get(asn)
                if ids is None:
                    ids_of[asn] = [tid]
                else:
                    ids.append(tid)
        out: dict[str, bytes | None] = {}
        for asn in wanted:
            memory = self.ases.get(asn)
            row_tracks = tracks_of.get(asn)
            row_ids = ids_of.get(asn)
            if memory is None and not row_tracks and not row_ids:
                out[f"as:{asn}"] = None
                continue
            # Sorted, so that the same state gives the same bytes whatever order it was built in.
            out[f"as:{asn}"] = _as_row(
                memory, sorted(row_tracks) if row_tracks else [], sorted(row_ids) if row_ids else [], self
            )
        meta = {
            "version": ROWS_FORMAT_VERSION,
            "last_round": self.last_round,
            "countries": {
                cc: [int(m.status), m.since.isoformat()] for cc, m in sorted(self.countries.items())
            },
            "tracks": sorted(meta_tracks),
        }
        # The traces from before ride in the meta row: written every round, as they change.
        if self.paths.before:
            meta["paths"] = [_trace_to_json(t) for t in self.paths.before.values()]
        if self.paths.findings:
            meta["path_findings"] = {str(asn): list(kept) for asn, kept in self.paths.findings.items()}
        if self.paths.during:
            meta["path_during"] = [_trace_to_json(t) for t in self.paths.during.values()]
        out[META_ROW] = json.dumps(meta, separators=(",", ":")).encode()
        return out

    @classmethod
    def from_rows(cls, rows: Mapping[str, bytes]) -> EngineState:
        """The state `rows` cut (every row, as storage holds them)."""
        if META_ROW not in rows:
            raise ValueError("verdict engine state rows have no meta row")
        try:
            meta = json.loads(rows[META_ROW])
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"verdict engine state meta row is not valid JSON: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("version") not in _ROWS_FORMATS_READ:
            found = meta.get("version") if isinstance(meta, dict) else None
            raise ValueError(f"verdict engine state rows version {found!r} is not {ROWS_FORMAT_VERSION}")
        key = META_ROW
        try:
            ases: dict[int, AsMemory] = {}
            targets: dict[str, TargetMemory] = {}
            home: dict[str, int] = {}
            last_of: dict[str, int] = {}
            tracks = {(scope, EventKind(kind)): _track_from_json(t) for scope, kind, t in meta["tracks"]}
            for key, data in rows.items():
                if key == META_ROW:
                    continue
                if not key.startswith("as:"):
                    raise ValueError("unknown row key")
                asn = int(key[3:])
                if data[:1] == _ROW_V2:
                    memory, row_tracks = _read_as_row(asn, data, targets, home, last_of)
                else:  # a row written before the compact form (ROWS_FORMAT_VERSION 1): JSON
                    memory, row_tracks, row_targets = json.loads(data)
                    for tid, entry in row_targets.items():
                        home[tid] = asn
                        last_of[tid] = int(entry[0])
                        if len(entry) == 4:
                            targets[tid] = (float(entry[1]), int(entry[2]), bool(entry[3]))
                if memory is not None:
                    ases[asn] = _as_from_json(memory)
                for kind, t in row_tracks:
                    tracks[(f"AS{asn}", EventKind(kind))] = _track_from_json(t)
            return cls(
                targets=targets,
                ases=ases,
                countries={
                    cc: CountryMemory(Status(status), datetime.fromisoformat(since))
                    for cc, (status, since) in meta["countries"].items()
                },
                tracks=tracks,
                last_round=meta["last_round"],
                target_home=home,
                target_last_round=last_of,
                paths=_paths_from_json(meta),
            )
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise ValueError(f"verdict engine state row {key!r} is malformed: {exc!r}") from exc

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
                # A state stored before target_home existed: its targets count as measured in its
                # last round (home unknown: AS 0) until they are measured again.
                target_home={tid: int(a) for tid, a in document.get("home", {}).items()}
                or dict.fromkeys(document["targets"], 0),
                target_last_round={tid: int(n) for tid, n in document.get("last_round_of", {}).items()}
                or dict.fromkeys(document["targets"], document["last_round"] or 0),
                paths=_paths_from_json(document),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"verdict engine state is malformed: {exc!r}") from exc


def _as_row(memory: AsMemory | None, row_tracks: list[Any], ids: list[str], state: EngineState) -> bytes:
    """One AS row, version 2: a small JSON head (the AS's memory and event trackers), then its
    targets in columns — ids joined by NUL, last round, availability, rounds seen, and a flag byte
    (0/1 ever answered, 2 no availability yet). Columns of machine numbers instead of JSON: the
    floats need no repr (exact either way) and a whole-Internet state is 750,000 targets.
    A target id holding a NUL falls back to the JSON row (version 1)."""
    memory_json = None if memory is None else _as_to_json(memory)
    joined = "\0".join(ids)
    if joined.count("\0") != max(len(ids) - 1, 0):
        document = [memory_json, row_tracks, _json_targets(ids, state)]
        return json.dumps(document, separators=(",", ":")).encode()
    head = json.dumps([memory_json, row_tracks], separators=(",", ":")).encode()
    targets, last_of = state.targets, state.target_last_round
    memories = list(map(targets.get, ids))
    availability: Sequence[float]
    seen: Sequence[int]
    if None in memories:
        availability = [0.0 if m is None else m[0] for m in memories]
        seen = [0 if m is None else m[1] for m in memories]
        flags = bytes([2 if m is None else int(m[2]) for m in memories])
    else:
        availability, seen, ever = zip(*memories, strict=True) if memories else ((), (), ())
        flags = bytes(map(int, ever))
    numbers = _columns(len(ids)).pack(*map(last_of.__getitem__, ids), *availability, *seen)
    encoded = joined.encode()
    return b"".join(
        (_ROW_V2, _ROW_HEAD.pack(len(head), len(ids), len(encoded)), head, numbers, flags, encoded)
    )


@functools.lru_cache(maxsize=256)
def _columns(n: int) -> struct.Struct:
    """n last rounds, n availabilities, n rounds seen (little-endian, whatever the machine)."""
    return struct.Struct(f"<{n}q{n}d{n}q")


def _json_targets(ids: list[str], state: EngineState) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for tid in ids:
        last = state.target_last_round[tid]
        target = state.targets.get(tid)
        out[tid] = [last] if target is None else [last, target[0], target[1], int(target[2])]
    return out


def _read_as_row(
    asn: int,
    data: bytes,
    targets: dict[str, TargetMemory],
    home: dict[str, int],
    last_of: dict[str, int],
) -> tuple[Any, list[Any]]:
    """Read an `_as_row` (version 2) into the target maps; returns its memory and trackers (JSON)."""
    head_length, n, ids_length = _ROW_HEAD.unpack_from(data, 1)
    start = 1 + _ROW_HEAD.size
    columns = _columns(n)
    if len(data) != start + head_length + columns.size + n + ids_length:
        raise ValueError(
            f"{len(data)} bytes, not the {start + head_length + columns.size + n + ids_length} announced"
        )
    memory, row_tracks = json.loads(data[start : start + head_length])
    at = start + head_length
    numbers = columns.unpack_from(data, at)
    lasts, availability, seen = numbers[:n], numbers[n : 2 * n], numbers[2 * n :]
    at += columns.size
    flags = data[at : at + n]
    ids = data[at + n :].decode().split("\0") if n else []
    if len(ids) != n:
        raise ValueError(f"{n} targets announced, {len(ids)} ids found")
    home.update(dict.fromkeys(ids, asn))
    last_of.update(zip(ids, lasts, strict=True))
    if 2 in flags:
        targets.update(
            (tid, (a, k, f == 1))
            for tid, a, k, f in zip(ids, availability, seen, flags, strict=True)
            if f != 2
        )
    else:
        targets.update(zip(ids, zip(availability, seen, map(bool, flags), strict=True), strict=True))
    return memory, row_tracks


def _paths_from_json(document: dict[str, Any]) -> PathMemory:
    """The traces from before, the kept findings and the events' traces (absent in states
    written before traceroute, or before the events' traces were kept)."""
    return PathMemory(
        {(t.probe_id, t.target_asn): t for t in map(_trace_from_json, document.get("paths", []))},
        {
            int(asn): (str(text), int(up_rounds))
            for asn, (text, up_rounds) in document.get("path_findings", {}).items()
        },
        {(t.probe_id, t.target_asn): t for t in map(_trace_from_json, document.get("path_during", []))},
    )


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
        m.weight,
    ]


def _as_from_json(v: list[Any]) -> AsMemory:
    country, status, since, logodds, ratio, loss, rtt, rounds, last, *rest = v
    weight = float(rest[0]) if rest else 0.0  # absent in rows written before the weight was kept
    return AsMemory(
        country,
        Status(status),
        datetime.fromisoformat(since),
        logodds,
        ratio,
        loss,
        rtt,
        rounds,
        last,
        weight,
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
        "mechanism": int(e.mechanism),
        "layer": int(e.layer),
        "mechanism_reason": e.mechanism_reason,
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
        # State written before the mechanism (vantage-verdict/1) has none.
        mechanism=Mechanism(d.get("mechanism", 0)),
        layer=Layer(d.get("layer", 0)),
        mechanism_reason=d.get("mechanism_reason", ""),
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
