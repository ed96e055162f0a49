"""Human tables for the CLI (plain text, aligned columns)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vantage.collector.cli.timeargs import format_instant
from vantage.collector.verdict.model import LAYER_NAMES, MECHANISM_NAMES, Layer, Mechanism
from vantage.protocols import KINDS

STATUS_NAMES = {0: "-", 1: "UP", 2: "DEGRADED", 3: "DOWN", 4: "FILTERED", 5: "UNKNOWN"}
PROTOCOL_NAMES = {0: "?", **{int(kind.protocol): kind.name for kind in KINDS}}
PROBE_STATE_NAMES = {0: "-", 1: "alive", 2: "silent", 3: "revoked"}
EVENT_KIND_NAMES = {0: "-", 1: "outage", 2: "degradation", 3: "filtering", 4: "probes disconnected"}
EVENT_STATE_NAMES = {0: "-", 1: "open", 2: "closed"}


def mechanism_text(mechanism: int, layer: int = 0) -> str:
    """vantage.v1.Mechanism (+ InterferenceLayer) as printed: "-", "data_plane", "service_blocking/tls"."""
    try:
        name = MECHANISM_NAMES[Mechanism(mechanism)]
        at = LAYER_NAMES[Layer(layer)]
    except ValueError:  # a newer collector's value
        return "?"
    if name == "none":
        return "-"
    return f"{name}/{at}" if at else name


def render_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    body = [list(map(str, row)) for row in rows]
    widths = [len(h) for h in header]
    for row in body:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]
    return "\n".join(lines)


def ts_text(message: Any, field: str) -> str:
    if not message.HasField(field):
        return "-"
    value = getattr(message, field)
    return format_instant(value.seconds + value.nanos * 1e-9)


def probe_rows(probes: Iterable[Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "PROBE",
        "NAME",
        "AS",
        "COUNTRY",
        "OBSERVED",
        "PINNED",
        "STATE",
        "LAST CONTACT",
        "RESULTS",
        "SUSPECT",
    ]
    rows = []
    for p in probes:
        rows.append(
            [
                p.probe_id,
                p.name or "-",
                f"AS{p.asn}" if p.asn else "-",
                p.country or "-",
                f"AS{p.observed_asn} {p.observed_country or '??'}"
                if p.observed_asn or p.observed_country
                else "-",
                f"AS{p.pinned_asn} {p.pinned_country or '??'}" if p.pinned_asn or p.pinned_country else "-",
                PROBE_STATE_NAMES.get(p.state, "?"),
                ts_text(p, "last_contact"),
                str(p.results_received),
                "yes" if p.suspect else "no",
            ]
        )
    return header, rows


def target_rows(targets: Iterable[Any]) -> tuple[list[str], list[list[str]]]:
    header = ["ID", "TARGET", "PROTOCOLS", "COUNTRY", "AS", "TAGS"]
    rows = [
        [
            t.id,
            t.target,
            ";".join(PROTOCOL_NAMES.get(p, "?") for p in t.protocols),
            t.country or "-",
            f"AS{t.asn}" if t.asn else "-",
            ";".join(t.tags) or "-",
        ]
        for t in targets
    ]
    return header, rows


def as_status_rows(statuses: Iterable[Any]) -> tuple[list[str], list[list[str]]]:
    header = ["AS", "NAME", "COUNTRY", "STATUS", "MECHANISM", "CONFIDENCE", "SINCE", "ROUND", "SUMMARY"]
    rows = [
        [
            f"AS{s.asn}",
            (s.as_name or "-")[:30],
            s.country or "-",
            STATUS_NAMES.get(s.status, "?"),
            mechanism_text(s.mechanism, s.mechanism_layer),
            f"{s.confidence:.2f}",
            ts_text(s, "since"),
            str(s.round),
            s.evidence.summary or "-",
        ]
        for s in statuses
    ]
    return header, rows


def country_rows(countries: Iterable[Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "COUNTRY",
        "STATUS",
        "MECHANISM",
        "CONFIDENCE",
        "AFFECTED",
        "ASES",
        "SINCE",
        "DRIVING",
        "SUMMARY",
    ]
    rows = [
        [
            c.country,
            STATUS_NAMES.get(c.status, "?"),
            mechanism_text(c.mechanism, c.mechanism_layer),
            f"{c.confidence:.2f}",
            f"{c.affected_share:.0%}",
            str(c.measured_ases),
            ts_text(c, "since"),
            ",".join(f"AS{a.asn}" for a in c.driving_ases[:5]) or "-",
            c.summary or "-",
        ]
        for c in countries
    ]
    return header, rows


def timeline_rows(points: Iterable[Any]) -> tuple[list[str], list[list[str]]]:
    points = list(points)
    header = ["ROUND START", "ROUND", "STATUS", "MECHANISM", "CONFIDENCE", "BELIEF", "REACHABILITY"]
    if any(p.revision for p in points):
        # A column only when a round was revised: the usual table stays as it was.
        header.append("REVISED")
        header_rows = _timeline_cells(points)
        for row, p in zip(header_rows, points, strict=True):
            row.append(revision_text(p))
        return header, header_rows
    return header, _timeline_cells(points)


def revision_text(p: Any) -> str:
    """A revised round's mark: revision, when, and the late results it took in."""
    if not p.revision:
        return ""
    late = f", {p.late_results} late from {p.late_probes} probes" if p.late_results else ""
    return f"rev {p.revision} at {ts_text(p, 'revised_at')}{late}"


def _timeline_cells(points: Iterable[Any]) -> list[list[str]]:
    rows = [
        [
            ts_text(p, "round_start"),
            str(p.round),
            STATUS_NAMES.get(p.status, "?"),
            mechanism_text(p.mechanism),
            f"{p.confidence:.2f}",
            f"{p.belief:.2f}",
            f"{p.reachability_ratio:.0%}",
        ]
        for p in points
    ]
    return rows


# How `vantage watch` marks an event a recomputation with late results sent (query_service.proto).
EVENT_CHANGE_WORDS = {2: "revised: ", 3: "withdrawn: "}


def event_line(e: Any) -> str:
    scope = f"AS{e.asn}" if e.asn else e.country
    state = EVENT_STATE_NAMES.get(e.state, "?")
    ended = f" until {ts_text(e, 'ended_at')}" if e.HasField("ended_at") else ""
    change = EVENT_CHANGE_WORDS.get(getattr(e, "change", 0), "")
    mechanism = mechanism_text(e.mechanism, e.mechanism_layer)
    how = f" mechanism {mechanism}" if mechanism != "-" else ""
    why = f" ({e.mechanism_reason})" if e.mechanism_reason else ""
    return (
        f"{change}{ts_text(e, 'started_at')}{ended}  {EVENT_KIND_NAMES.get(e.kind, '?')} {scope} [{state}] "
        f"severity {e.severity:.1f} confidence {e.confidence:.2f}{how}: {e.summary}{why}"
    )
