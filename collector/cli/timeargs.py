"""Durations and instants as typed on the command line (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """'90' or '90s', '15m', '6h', '7d', '2w' → seconds. ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (examples: 90s, 15m, 6h, 7d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_instant(text: str, *, now_unix_s: float) -> float:
    """An ISO 8601 time ('2026-01-05T10:30:00Z', naive = UTC) or a duration ago ('6h') → Unix seconds."""
    try:
        return now_unix_s - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 time (2026-01-05T10:30:00Z) nor a duration ago (6h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_instant(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
