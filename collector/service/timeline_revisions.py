"""A timeline's revisions (blocking reads for QueryService.GetTimeline): which revision of each
round to show, now or as of a past time, and the marks of a revised round.

Now: the stored verdicts are the latest revision; a revised round carries its revision number,
when it was revised, and how many late results from how many probes the revisions took in. As of
a time T: per round, the revision that was the answer at T (the superseded verdicts keep their
span), and only the rounds computed by T (collector/verdict/revisions.py, `answers_as_of`); each
event as it was known at T (`events_as_of`).
"""

from __future__ import annotations

from dataclasses import dataclass

from vantage.collector.service.app import CollectorApp
from vantage.collector.storage.records import (
    RevisionRecord,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
)
from vantage.collector.verdict.revisions import (
    Answer,
    answers_as_of,
    as_of_problem,
    current_answers,
    version_as_of,
)
from vantage.collector.wire.revisions import open_as_of

Verdict = StoredAsVerdict | StoredCountryVerdict


@dataclass(frozen=True, slots=True)
class ShownPoint:
    verdict: Verdict
    revision: int
    revised_at_unix_s: float | None  # None for revision 0
    late_results: int
    late_probes: int


def as_of_error(app: CollectorApp, as_of_unix_s: float) -> str:
    """Why the as-of time cannot be answered ("" when it can)."""
    first = app.storage.computed_rounds(0, 2**62, limit=1)
    return as_of_problem(
        as_of_unix_s,
        now_unix_s=app.clock(),
        first_computed_at_unix_s=first[0].computed_at_unix_s if first else None,
    )


def shown_points(
    app: CollectorApp, scope: str, key: int | str, since: float, until: float, as_of: float | None
) -> list[ShownPoint]:
    storage = app.storage
    current: list[StoredAsVerdict] | list[StoredCountryVerdict]
    if scope == "asn":
        assert isinstance(key, int)
        current = storage.as_timeline(key, since, until)
        superseded = storage.superseded_as_verdicts(key, since, until) if as_of is not None else []
    else:
        assert isinstance(key, str)
        current = storage.country_timeline(key, since, until)
        superseded = storage.superseded_country_verdicts(key, since, until) if as_of is not None else []  # type: ignore[assignment]
    numbers = [v.round for v in current] + [s.verdict.round for s in superseded]
    if not numbers:
        return []
    first, last = min(numbers), max(numbers)
    revisions: dict[int, RevisionRecord] = {r.round: r for r in storage.round_revisions(first, last)}
    if as_of is None:
        return [_point(v, revisions.get(v.round)) for v in current]
    computed = {r.number: r.computed_at_unix_s or 0.0 for r in storage.computed_rounds(first, last)}
    spans = current_answers(computed, {n: (r.revision, r.revised_at_unix_s) for n, r in revisions.items()})
    candidates: list[tuple[Answer, Verdict]] = [(spans[v.round], v) for v in current if v.round in spans]
    candidates += [
        (Answer(s.verdict.round, s.revision, s.valid_from_unix_s, s.valid_until_unix_s), s.verdict)
        for s in superseded
    ]
    known = answers_as_of(candidates, as_of)
    out = []
    for number in sorted(known):
        answer, verdict = known[number]
        latest = revisions.get(number)
        if latest is not None and answer.revision == latest.revision:
            out.append(_point(verdict, latest))
        else:
            # An earlier revision: its late counts are not kept, only when it was computed.
            out.append(
                ShownPoint(
                    verdict, answer.revision, answer.valid_from_unix_s if answer.revision else None, 0, 0
                )
            )
    return out


def _point(verdict: Verdict, revision: RevisionRecord | None) -> ShownPoint:
    if revision is None:
        return ShownPoint(verdict, 0, None, 0, 0)
    return ShownPoint(
        verdict, revision.revision, revision.revised_at_unix_s, revision.late_results, revision.late_probes
    )


def events_as_of(
    app: CollectorApp,
    current: list[StoredEvent],
    *,
    asn: int,
    country: str | None,
    since: float,
    until: float,
    as_of: float,
) -> list[StoredEvent]:
    """The events of a timeline as they were known at `as_of`: per event, the version that was
    the answer then (schema 7 keeps those a revision replaced or withdrew; an event a revision
    found was not known before it), among those started by then. One that ended after `as_of`
    is shown open: only an event last stored before schema 7 (no kept versions) can be."""
    superseded: dict[str, list[tuple[float, StoredEvent | None]]] = {}
    for s in app.storage.superseded_events(asn=asn, country=country, since_unix_s=since, until_unix_s=until):
        version = None if s.unknown_before else s.event
        superseded.setdefault(s.event.event_id, []).append((s.valid_until_unix_s, version))
    by_id = {e.event_id: e for e in current}
    out = []
    for event_id in sorted(set(by_id) | set(superseded)):
        event = version_as_of(by_id.get(event_id), superseded.get(event_id, []), as_of)
        if event is None or event.started_at_unix_s > as_of:
            continue
        if event.ended_at_unix_s is not None and event.ended_at_unix_s > as_of:
            event = open_as_of(event)
        out.append(event)
    return sorted(out, key=lambda e: (e.started_at_unix_s, e.event_id))
