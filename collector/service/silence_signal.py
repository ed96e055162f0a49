"""Silence as a signal in the round loop: connected probes per AS and per country, each round,
through collector/verdict/silence.py.

- Connected this round: an enrolled, unrevoked probe with results in the round or a contact
  (heartbeat, work request, upload) since the round started. Scopes are "AS<n>" and the country
  code, from the probe's effective location.
- A burst (silence.py's thresholds: at least 3 probes, at least half of those connected in the
  last two rounds, and a binomial chance below 1e-5 given the scope's own usual churn; Disco
  requires 10 probes per group, which a censored network's handful of volunteers never reaches,
  so Vantage asks how surprising the silence is instead) either corroborates the outside-in DOWN
  of the same scope (the outage event's summary says so) or, without one, opens a
  "probes disconnected" event (its own kind, never DOWN). The event closes when at least half of
  the probes that went silent are connected again.
- The scopes' memory (last two rounds' connected probes, usual churn) and the open silence events
  are kept by the collector computing the rounds, in memory: a restart, or a new leader, starts
  learning again (two rounds before a burst can be seen). Revisions leave silence events alone
  (collector/service/revisions.py): silence is a live signal, and the late results that come
  with the probes' return revise the verdicts.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vantage.collector.service.app import CollectorApp
from vantage.collector.storage.records import ProbeRecord, StoredEvent
from vantage.collector.verdict import silence
from vantage.collector.wire.silence import corroborated, disconnected_event, event_confidence

DOWN = 3  # vantage.collector.verdict.model.Status.DOWN (the stored verdict's status number)
OUTAGE = 1  # EventKind.OUTAGE


@dataclass(slots=True)
class SilenceMemory:
    scopes: dict[str, silence.ScopeMemory] = field(default_factory=dict)
    open_events: dict[str, tuple[StoredEvent, frozenset[str]]] = field(default_factory=dict)


_MEMORY: weakref.WeakKeyDictionary[CollectorApp, SilenceMemory] = weakref.WeakKeyDictionary()


def scope_of_asn(asn: int) -> str:
    return f"AS{asn}"


def connected_by_scope(
    probes: Iterable[ProbeRecord], with_results: set[str], *, since_unix_s: float
) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """scope → connected probe ids (every scope with enrolled probes), and AS scope → country."""
    connected: dict[str, set[str]] = {}
    country_of: dict[str, str] = {}
    for p in probes:
        if p.revoked:
            continue
        scopes = ([scope_of_asn(p.asn)] if p.asn else []) + ([p.country] if p.country else [])
        if p.asn:
            country_of[scope_of_asn(p.asn)] = p.country
        alive = p.probe_id in with_results or (
            p.last_contact_unix_s is not None and p.last_contact_unix_s >= since_unix_s
        )
        for scope in scopes:
            connected.setdefault(scope, set())
            if alive:
                connected[scope].add(p.probe_id)
    return {s: frozenset(v) for s, v in connected.items()}, country_of


def silence_events(
    app: CollectorApp,
    number: int,
    probes: Sequence[ProbeRecord],
    measurements: Sequence[Any],
    output: Any,
    events: tuple[StoredEvent, ...],
) -> tuple[StoredEvent, ...]:
    """The round's events with the silence signals added: corroborated outages, and "probes
    disconnected" events opened, kept or closed."""
    memory = _MEMORY.setdefault(app, SilenceMemory())
    start = app.round_start(number)
    connected, country_of = connected_by_scope(probes, {m.probe_id for m in measurements}, since_unix_s=start)
    down = frozenset(
        [scope_of_asn(v.asn) for v in output.as_verdicts if int(v.status) == DOWN]
        + [c.country for c in output.country_verdicts if int(c.status) == DOWN]
    )
    signals, memory.scopes = silence.step(connected, memory.scopes, down, round_number=number)
    out = list(events)
    for signal in signals:
        asn = int(signal.scope[2:]) if signal.scope.startswith("AS") else 0
        if signal.kind == silence.CORROBORATES_DOWN:
            for index, event in enumerate(out):
                same = event.asn == asn if asn else (event.asn == 0 and event.country == signal.scope)
                if event.kind == OUTAGE and same:
                    out[index] = corroborated(event, signal.summary)
            continue
        if signal.scope in memory.open_events:
            continue
        started = datetime.fromtimestamp(start, UTC)
        event = disconnected_event(
            event_id=f"probes-disconnected-{signal.scope.lower()}-{started:%Y%m%dT%H%M%SZ}",
            asn=asn,
            country=country_of.get(signal.scope, "") if asn else signal.scope,
            started_at_unix_s=start,
            ended_at_unix_s=None,
            confidence=1.0 - signal.chance,
            summary=signal.summary,
            opened_round=number,
            updated_round=number,
        )
        memory.open_events[signal.scope] = (event, frozenset(signal.went_silent))
        out.append(event)
    for scope, (event, silent) in list(memory.open_events.items()):
        if event.opened_round == number:
            continue
        back = silent & connected.get(scope, frozenset())
        if silence.reconnected(silent, back):
            closed = disconnected_event(
                event_id=event.event_id,
                asn=event.asn,
                country=event.country,
                started_at_unix_s=event.started_at_unix_s,
                ended_at_unix_s=start,
                confidence=event_confidence(event),
                summary=f"{len(back)} of {len(silent)} probes in {scope} that went silent are back",
                opened_round=event.opened_round,
                updated_round=number,
            )
            del memory.open_events[scope]
            out.append(closed)
    return tuple(out)
