"""Detected events against the staged truth: detection delay, misses, false events. Pure.

All times are seconds from the scenario's t=0. A detected event matches an
expected one when scope (AS or country) and kind agree and their intervals
overlap, the expected interval being stretched by `slack_s` at its end (a
detector reports the end of an event a round or two late). Each detection goes
to one expected event (required first, then the largest overlap); an expected
event may take several (a flapping detector yields fragments; the report says
so); a detection that matches no expected event, required or optional, is a
false event.

Detection delay = when the collector first published the event (`first_seen_s`,
from `vantage watch`) minus when the action was staged; when the event was only
seen in the final timeline, its start is used and the delay is marked as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vantage.lab.scenario import ExpectedEvent


@dataclass(frozen=True, slots=True)
class DetectedEvent:
    event_id: str
    kind: str  # "outage" | "degradation" | "filtering"
    asn: int  # 0 for a country's event
    country: str  # "" for an AS's event
    started_s: float  # the event's start as the collector dates it
    ended_s: float | None  # None while open
    first_seen_s: float | None  # when `vantage watch` delivered it first (None: not seen live)
    closed_seen_s: float | None = None  # when `vantage watch` delivered its closing

    def describe(self) -> str:
        return f"AS{self.asn}" if self.asn else self.country


@dataclass(frozen=True, slots=True)
class Match:
    expected: ExpectedEvent
    detected: tuple[DetectedEvent, ...]  # empty: missed

    @property
    def first(self) -> DetectedEvent | None:
        return min(self.detected, key=lambda d: d.started_s) if self.detected else None

    @property
    def detection_delay_s(self) -> float | None:
        first = self.first
        if first is None:
            return None
        seen = first.first_seen_s if first.first_seen_s is not None else first.started_s
        return seen - self.expected.from_s

    @property
    def start_error_s(self) -> float | None:
        first = self.first
        return None if first is None else first.started_s - self.expected.from_s

    @property
    def end_delay_s(self) -> float | None:
        """When the end was published (or dated) minus when the restoration was staged."""
        if not self.detected or self.expected.to_s is None:
            return None
        last = max(self.detected, key=lambda d: d.started_s)
        if last.closed_seen_s is not None:
            return last.closed_seen_s - self.expected.to_s
        if last.ended_s is not None:
            return last.ended_s - self.expected.to_s
        return None


@dataclass(frozen=True, slots=True)
class Report:
    matches: tuple[Match, ...]
    false_events: tuple[DetectedEvent, ...]

    @property
    def missed(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if not m.detected and not m.expected.optional)

    @property
    def required_detected(self) -> int:
        return sum(1 for m in self.matches if m.detected and not m.expected.optional)

    @property
    def required_total(self) -> int:
        return sum(1 for m in self.matches if not m.expected.optional)

    @property
    def passed(self) -> bool:
        return not self.missed and not self.false_events


def _same_scope(expected: ExpectedEvent, detected: DetectedEvent) -> bool:
    if expected.asn:
        return detected.asn == expected.asn
    return detected.asn == 0 and detected.country == expected.country


def _overlaps(expected: ExpectedEvent, detected: DetectedEvent, duration_s: float, slack_s: float) -> bool:
    expected_end = (expected.to_s if expected.to_s is not None else duration_s) + slack_s
    detected_end = detected.ended_s if detected.ended_s is not None else float("inf")
    return detected.started_s < expected_end and expected.from_s < detected_end


def _overlap_s(expected: ExpectedEvent, detected: DetectedEvent, duration_s: float, slack_s: float) -> float:
    expected_end = (expected.to_s if expected.to_s is not None else duration_s) + slack_s
    detected_end = detected.ended_s if detected.ended_s is not None else duration_s + slack_s
    return min(expected_end, detected_end) - max(expected.from_s, detected.started_s)


def match_events(
    expected: Sequence[ExpectedEvent], detected: Sequence[DetectedEvent], *, duration_s: float, slack_s: float
) -> Report:
    """Give each detection to one staged event: a required one before an optional one, then the
    one it overlaps most. A detection spanning two staged events (a restoration the detector
    missed) therefore counts for one of them only, and the other shows as missed."""
    hits: dict[int, list[DetectedEvent]] = {index: [] for index in range(len(expected))}
    false_events = []
    for event in detected:
        candidates = [
            (not truth.optional, _overlap_s(truth, event, duration_s, slack_s), -index)
            for index, truth in enumerate(expected)
            if truth.kind == event.kind
            and _same_scope(truth, event)
            and _overlaps(truth, event, duration_s, slack_s)
        ]
        if candidates:
            hits[-max(candidates)[2]].append(event)
        else:
            false_events.append(event)
    matches = tuple(
        Match(truth, tuple(sorted(hits[index], key=lambda d: d.started_s)))
        for index, truth in enumerate(expected)
    )
    return Report(matches, tuple(false_events))


def _seconds(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:+.0f}s" if signed else f"{value:.0f}s"


def format_report(report: Report) -> str:
    """The table printed at the end of a scenario: each staged event beside what was detected."""
    header = f"{'staged truth':<40} {'detected (collector)':<34} {'delay':>6} {'end':>6}"
    lines = [header, "-" * len(header)]
    for match in report.matches:
        truth = match.expected
        until = f"{truth.to_s:.0f}s" if truth.to_s is not None else "end"
        optional = " (optional)" if truth.optional else ""
        staged = f"{truth.kind} {truth.describe()} {truth.from_s:.0f}s-{until}{optional}"
        first = match.first
        if first is None:
            found = "not detected" + ("" if truth.optional else "  <-- MISSED")
        else:
            end = f"{first.ended_s:.0f}s" if first.ended_s is not None else "open"
            found = f"{first.kind} {first.describe()} {first.started_s:.0f}s-{end}"
            if len(match.detected) > 1:
                found += f" (+{len(match.detected) - 1} fragment{'s' if len(match.detected) > 2 else ''})"
        delay, end_delay = _seconds(match.detection_delay_s), _seconds(match.end_delay_s)
        lines.append(f"{staged:<40} {found:<34} {delay:>6} {end_delay:>6}")
    for event in report.false_events:
        end = f"{event.ended_s:.0f}s" if event.ended_s is not None else "open"
        found = f"{event.kind} {event.describe()} {event.started_s:.0f}s-{end}"
        lines.append(f"{'(nothing staged)':<40} {found}  <-- FALSE")
    delays = [m.detection_delay_s for m in report.matches if m.detection_delay_s is not None]
    summary = f"detected {report.required_detected}/{report.required_total} staged events"
    if delays:
        ordered = sorted(delays)
        summary += f"; detection delay median {ordered[len(ordered) // 2]:.0f}s, max {ordered[-1]:.0f}s"
    summary += f"; {len(report.false_events)} false event{'s' if len(report.false_events) != 1 else ''}"
    lines.append(summary)
    return "\n".join(lines)
