"""Reading what `vantage status|timeline|watch --json` print: protobuf JSON into plain rows. Pure.

The query commands print the wire messages in protobuf's JSON mapping with the
proto field names (docs/wire-format.md), which omits fields at their default value
(0, "", false): every read here has a default. Enum values arrive as their
names ("STATUS_DOWN", "EVENT_KIND_OUTAGE") and are shortened to "DOWN",
"outage". Timestamps are RFC 3339 strings; they are turned into seconds from
the scenario's t=0 by the caller's `t0`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vantage.lab.report import DetectedEvent


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    t_s: float  # seconds from the scenario's t=0 (round start)
    reachability: float  # 0..1
    status: str  # "UP", "DOWN", ...


@dataclass(frozen=True, slots=True)
class StatusRow:
    scope: str  # "AS9198" or "KZ"
    asn: int
    country: str
    name: str
    status: str  # UP, DEGRADED, DOWN, FILTERED, UNKNOWN
    confidence: float
    since: datetime | None
    summary: str


def short_status(value: Any) -> str:
    text = str(value or "STATUS_UNKNOWN")
    return text.removeprefix("STATUS_") if text != "STATUS_UNSPECIFIED" else "UNKNOWN"


def short_kind(value: Any) -> str:
    return str(value or "").removeprefix("EVENT_KIND_").lower()


def mechanism_note(document: dict[str, Any]) -> str:
    """An event's mechanism as the live output shows it, e.g. " [bgp_withdrawal: routes withdrawn ...]"."""
    name = str(document.get("mechanism") or "").removeprefix("MECHANISM_").lower()
    if name in ("", "unspecified"):
        return ""
    layer = str(document.get("mechanism_layer") or "").rsplit("_", 1)[-1].lower()
    if layer and layer != "unspecified":
        name = f"{name} ({layer})"
    reason = str(document.get("mechanism_reason") or "")
    return f" [{name}: {reason}]" if reason else f" [{name}]"


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _walk(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        yield document
        for value in document.values():
            yield from _walk(value)
    elif isinstance(document, list):
        for item in document:
            yield from _walk(item)


def status_rows(document: Any) -> tuple[list[StatusRow], list[StatusRow]]:
    """(AS rows, country rows) from a `vantage status --json` document, whatever its nesting.

    An AS status has `asn`; a country status has `country` and one of
    `measured_ases`/`affected_share`/`driving_ases` but no `asn`. Driving ASes
    nested inside a country are AS statuses too; each AS is kept once.
    """
    as_rows: dict[int, StatusRow] = {}
    country_rows: dict[str, StatusRow] = {}
    for item in _walk(document):
        if "status" not in item and "evidence" not in item:
            continue
        if item.get("asn"):
            asn = int(item["asn"])
            as_rows.setdefault(
                asn,
                StatusRow(
                    scope=f"AS{asn}",
                    asn=asn,
                    country=str(item.get("country", "")),
                    name=str(item.get("as_name", "")),
                    status=short_status(item.get("status")),
                    confidence=float(item.get("confidence", 0.0)),
                    since=parse_time(item.get("since")),
                    summary=str(item.get("evidence", {}).get("summary", "")),
                ),
            )
        elif item.get("country") and any(
            k in item for k in ("measured_ases", "affected_share", "driving_ases")
        ):
            country = str(item["country"])
            country_rows.setdefault(
                country,
                StatusRow(
                    scope=country,
                    asn=0,
                    country=country,
                    name="",
                    status=short_status(item.get("status")),
                    confidence=float(item.get("confidence", 0.0)),
                    since=parse_time(item.get("since")),
                    summary=str(item.get("summary", "")),
                ),
            )
    return sorted(as_rows.values(), key=lambda r: (r.country, r.asn)), sorted(
        country_rows.values(), key=lambda r: r.country
    )


def timeline_points(document: Any, t0: datetime) -> tuple[SeriesPoint, ...]:
    points = []
    for point in document.get("points", []) if isinstance(document, dict) else []:
        start = parse_time(point.get("round_start"))
        if start is None:
            continue
        points.append(
            SeriesPoint(
                t_s=(start - t0).total_seconds(),
                reachability=float(point.get("reachability_ratio", 0.0)),
                status=short_status(point.get("status")),
            )
        )
    return tuple(sorted(points, key=lambda p: p.t_s))


def event_from_document(
    document: dict[str, Any], t0: datetime, first_seen_s: float | None, closed_seen_s: float | None
) -> DetectedEvent:
    started = parse_time(document.get("started_at"))
    ended = parse_time(document.get("ended_at"))
    return DetectedEvent(
        event_id=str(document.get("id", "")),
        kind=short_kind(document.get("kind")),
        asn=int(document.get("asn", 0)),
        country=str(document.get("country", "")),
        started_s=(started - t0).total_seconds() if started else 0.0,
        ended_s=(ended - t0).total_seconds() if ended else None,
        first_seen_s=first_seen_s,
        closed_seen_s=closed_seen_s,
    )


def is_closed(document: dict[str, Any]) -> bool:
    return str(document.get("state", "")) == "EVENT_STATE_CLOSED" or bool(document.get("ended_at"))
