"""Events with hysteresis: open, update and close outage / degradation / filtering events.

Each (scope, kind) — scope an AS ("AS9198") or a country ("KZ") — has a tracker. A round is *in*
(the status is the kind's), *out* (another decisive status) or *unknown* (no evidence for that
kind's view — e.g. no inside probe reported, for filtering; it counts for nothing either way).
An event opens after `event_open_rounds` (2) rounds in, or at once for an outage whose
corroborated confidence is at least 0.95 (that is not a noisy round: it is >= 2 vantage points in
>= 2 ASes agreeing); it closes after `event_close_rounds` (2) rounds out. Either way the times are
backdated to the start of the first round of the streak, so hysteresis delays the report, not the
recorded start and end. One noisy round therefore neither opens nor closes.

Severity is IODA's alert area: the relative drop (against the AS's baseline) x minutes, summed
over the rounds in.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from vantage.collector.verdict.config import VerdictConfig
from vantage.collector.verdict.model import Event, EventKind, Layer, Mechanism, Status
from vantage.collector.verdict.state import EventTrack

# Rounds without evidence tolerated inside a streak of rounds in.
MAX_STREAK_GAP_ROUNDS = 1

KIND_OF_STATUS: dict[Status, EventKind] = {
    Status.DOWN: EventKind.OUTAGE,
    Status.DEGRADED: EventKind.DEGRADATION,
    Status.FILTERED: EventKind.FILTERING,
}
EVENT_KINDS: tuple[EventKind, ...] = (EventKind.OUTAGE, EventKind.DEGRADATION, EventKind.FILTERING)
KIND_WORD = {
    EventKind.OUTAGE: "outage",
    EventKind.DEGRADATION: "degradation",
    EventKind.FILTERING: "filtering",
}


def event_id(kind: EventKind, scope: str, started_at: datetime) -> str:
    """Deterministic and readable: the same start of the same kind in the same scope, the same id."""
    return f"{KIND_WORD[kind]}-{scope.lower()}-{started_at:%Y%m%dT%H%M%SZ}"


@dataclasses.dataclass(frozen=True, slots=True)
class RoundMark:
    """What one round says about one scope, for every kind at once."""

    status: Status
    confidence: float
    drop: float  # relative drop of the signal against the baseline this round, 0..1
    summary: str
    # Whether the outside-in / inside-out views had evidence this round. Without it a round says
    # nothing about the events of that view: an inside probe that missed a round does not end a
    # filtering event, and a round without outside-in data does not end an outage.
    reachability_known: bool = True
    interference_known: bool = True
    mechanism: Mechanism = Mechanism.NONE
    layer: Layer = Layer.UNSPECIFIED
    mechanism_reason: str = ""

    def says(self, kind: EventKind) -> bool | None:
        """True: the round is in an event of this kind; False: it is out; None: it cannot tell."""
        if self.status is Status.UNKNOWN:
            return None
        if KIND_OF_STATUS.get(self.status) is kind:
            return True
        if kind is EventKind.FILTERING:
            # Filtering is hidden behind an outage or degradation, and unseen without inside probes.
            if not self.interference_known or self.status in (Status.DOWN, Status.DEGRADED):
                return None
            return False
        return False if self.reachability_known else None


def step(
    track: EventTrack | None,
    kind: EventKind,
    scope: str,
    asn: int,
    country: str,
    mark: RoundMark,
    round_number: int,
    round_start: datetime,
    round_length: timedelta,
    config: VerdictConfig,
) -> tuple[EventTrack | None, Event | None]:
    """The tracker after this round, and the event if it was opened, updated or closed."""
    t = track or EventTrack()
    minutes = round_length.total_seconds() / 60.0
    says = mark.says(kind)
    if says is None:
        return track, None
    if says:
        weight = mark.drop * minutes
        if t.event is not None:
            # The first round that names a mechanism names the event's: the rounds in which a
            # cut heals (routes back first, then traffic) must not rename a withdrawal a
            # data-plane drop on its way out.
            named = t.event.mechanism not in (Mechanism.NONE, Mechanism.UNKNOWN)
            source = t.event if named else mark
            event = dataclasses.replace(
                t.event,
                severity=round(t.event.severity + weight, 3),
                confidence=max(t.event.confidence, mark.confidence),
                summary=mark.summary,
                updated_round=round_number,
                mechanism=source.mechanism,
                layer=source.layer,
                mechanism_reason=source.mechanism_reason,
            )
            return EventTrack(event=event), event
        # A streak is consecutive rounds in, tolerating one round without evidence in between:
        # two lone rounds hours apart are two noisy rounds, not an event.
        if t.in_streak == 0 or round_number - t.in_last_round > MAX_STREAK_GAP_ROUNDS + 1:
            t = EventTrack(in_start_round=round_number, in_start=round_start)
        t = dataclasses.replace(
            t,
            in_streak=t.in_streak + 1,
            in_last_round=round_number,
            in_severity=t.in_severity + weight,
            in_confidence=max(t.in_confidence, mark.confidence),
        )
        immediate = kind is EventKind.OUTAGE and mark.confidence >= config.event_open_immediately_confidence
        if t.in_streak >= config.event_open_rounds or immediate:
            assert t.in_start is not None
            event = Event(
                id=event_id(kind, scope, t.in_start),
                kind=kind,
                asn=asn,
                country=country,
                started_at=t.in_start,
                ended_at=None,
                severity=round(t.in_severity, 3),
                confidence=t.in_confidence,
                summary=mark.summary,
                opened_round=round_number,
                updated_round=round_number,
                mechanism=mark.mechanism,
                layer=mark.layer,
                mechanism_reason=mark.mechanism_reason,
            )
            return EventTrack(event=event), event
        return t, None
    # A decisive round of another status.
    if t.event is None:
        return None, None
    if t.out_streak == 0:
        t = dataclasses.replace(t, out_start_round=round_number, out_start=round_start)
    t = dataclasses.replace(t, out_streak=t.out_streak + 1)
    if t.out_streak >= config.event_close_rounds:
        assert t.out_start is not None and t.event is not None
        minutes_long = (t.out_start - t.event.started_at).total_seconds() / 60.0
        event = dataclasses.replace(
            t.event,
            ended_at=t.out_start,
            updated_round=round_number,
            summary=f"{t.event.summary.rstrip('.')}; ended {t.out_start:%Y-%m-%d %H:%M} UTC "
            f"after {minutes_long:.0f} min.",
        )
        return None, event
    return t, None
