"""Request parameters: a time window, a country code, an AS number, an event id.

Each check raises BadParameter naming the parameter, with the sentence the HTML
400 page and the JSON error both show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from vantage.collector.cli.timeargs import parse_instant

# A page without ?since= shows the last day, as the query commands do.
DEFAULT_WINDOW_S = 86400.0
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_ASN = re.compile(r"[0-9]{1,10}")
# collector/verdict/events.py event_id: "<kind>-<scope>-<YYYYmmddTHHMMSSZ>", scope "as9198" or "kz".
_EVENT_ID = re.compile(r"(outage|degradation|filtering)-(as[0-9]{1,10}|[a-z]{2})-([0-9]{8}T[0-9]{6}Z)")
MAX_ASN = 2**32 - 1


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True)
class Window:
    since_unix_s: float
    until_unix_s: float
    explicit: bool  # given in the address (kept in links), or the default last day

    @property
    def duration_s(self) -> float:
        return self.until_unix_s - self.since_unix_s

    def query(self) -> str:
        """The window as a query string for links ('' for the default window)."""
        if not self.explicit:
            return ""
        return f"?since={iso(self.since_unix_s)}&until={iso(self.until_unix_s)}"


def iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_window(since: str | None, until: str | None, *, now_unix_s: float, max_window_s: float) -> Window:
    """`?since=&until=` (ISO 8601 in UTC, or a duration ago as 6h) → a window no longer than retention."""
    end = _instant("until", until, now_unix_s) if until else now_unix_s
    start = _instant("since", since, now_unix_s) if since else end - DEFAULT_WINDOW_S
    if start >= end:
        raise BadParameter("since", f"since ({iso(start)}) must be before until ({iso(end)})")
    if end - start > max_window_s:
        raise BadParameter(
            "since",
            f"the window from {iso(start)} to {iso(end)} is longer than the collector keeps "
            f"({max_window_s / 86400:g} days)",
        )
    return Window(start, end, explicit=bool(since or until))


def _instant(parameter: str, text: str, now_unix_s: float) -> float:
    try:
        return parse_instant(text, now_unix_s=now_unix_s)
    except ValueError as exc:
        raise BadParameter(parameter, str(exc)) from None


def parse_country(text: str) -> str:
    if not _COUNTRY.fullmatch(text):
        raise BadParameter("country", f"{text!r} is not a two-letter country code (ISO 3166-1, as KZ)")
    return text.upper()


def parse_asn(text: str) -> int:
    digits = text.upper().removeprefix("AS")
    if not _ASN.fullmatch(digits) or not 0 < int(digits) <= MAX_ASN:
        raise BadParameter("asn", f"{text!r} is not an AS number (as 9198)")
    return int(digits)


@dataclass(frozen=True, slots=True)
class EventRef:
    """What an event id says by itself: its kind, its scope and when it started."""

    event_id: str
    asn: int  # 0 for a country event
    country: str  # "" for an AS event
    started_unix_s: float


def parse_event_id(text: str) -> EventRef:
    match = _EVENT_ID.fullmatch(text)
    if match is None:
        raise BadParameter("event", f"{text!r} is not an event id (as outage-kz-20260105T103000Z)")
    scope = match.group(2)
    started = datetime.strptime(match.group(3), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if scope.startswith("as"):
        return EventRef(text, int(scope[2:]), "", started)
    return EventRef(text, 0, scope.upper(), started)


def parse_int(parameter: str, text: str | None, *, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadParameter(parameter, f"{text!r} is not a whole number from {low} to {high}")
    return int(text)
