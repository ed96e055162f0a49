"""Revising computed rounds with late results: the round loop's I/O around collector/verdict/revisions.py.

Theory of operation
-------------------
- A batch is late for round r when r was computed (claimed) before the batch arrived, or last
  revised before it arrived (`Storage.late_batches`): what storage holds is the dirty mark, so a
  collector that restarts, or a new leader, finds the same dirty rounds.
- `advance` runs once per round-loop step, after the live round, on the collector that holds the
  rounds. It plans (plan_revisions: late results within the revise window of computed rounds),
  then recomputes from the earliest dirty round onwards, in order, from the engine state before
  it (read from the state history), each recomputation stored as the round's next revision. It
  stops after `budget_s` of work and goes on at the next step (`revision_pending` remembers
  where), so a flood of late results never holds back the live round: live rounds go on from
  the chain they had, and the recomputation includes them once it reaches them. When it reaches
  the latest round it replaces the engine state with its own, and the next live round starts
  from the revised chain.
- Events: the recomputation re-emits the events of the rounds it recomputes (same ids, made from
  kind, scope and start). At the end, an event opened in a recomputed round that the
  recomputation did not emit is withdrawn (deleted, and sent as WITHDRAWN), and every event
  whose start or end moved, whose evidence changed, or that the recomputation found, is sent as
  REVISED: updated, never duplicated. What it sends is stored with the last revision
  (`event_changes`), and other collectors relay it to their watchers (followers.py). An outage
  of a scope the late results came from gets the inside view's sentence ("Confirmed from
  inside: 2 probes in AS9198 measured 40 targets outside the country, 0 answered, 10:31–18:29
  UTC.", collector/verdict/inside_view.py), from every stored result of its DOWN rounds by
  probes inside it (of its fully dark rounds, when the outside saw some: a DOWN round in which
  some targets answered is the cut coming or going); live rounds keep it (`keep_inside_views`).
- Routing (bgp-fusion) and discovery's coverage are taken as they are now: what they were during
  an old round is not stored. Probe locations likewise.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vantage.collector.service.app import CollectorApp
from vantage.collector.service.judge_round import judge_round
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import (
    RevisionRecord,
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredEvent,
)
from vantage.collector.verdict.inside_view import (
    InsideMeasurement,
    inside_part,
    inside_sentence,
    inside_view,
    rounds_to_read,
)
from vantage.collector.verdict.model import EventKind, Status
from vantage.collector.verdict.revisions import (
    DEFAULT_REVISE_WINDOW_S,
    REFUSED_NO_ROUND,
    REFUSED_TOO_OLD,
    DirtyRound,
    LateResult,
    plan_revisions,
    window_rounds,
)
from vantage.collector.wire.measurements import round_measurements
from vantage.collector.wire.revisions import (
    REVISED,
    WITHDRAWN,
    event_summary,
    marked_event,
    with_inside_evidence,
)
from vantage.collector.wire.silence import PROBES_DISCONNECTED_KIND
from vantage.collector.wire.verdicts import stored_event

log = logging.getLogger("vantage.collector")

_OUTCOME_OK = 1  # vantage.v1.Outcome.OUTCOME_OK (round_measurements keeps the wire's number)

# Work per round-loop step before the live round gets its turn again: a tenth of a round leaves
# the rest of the round to the live computation and ingest (the round loop runs one step per
# round, and sooner while a recomputation is under way).
BUDGET_FRACTION_OF_ROUND = 0.1


@dataclass(slots=True)
class RevisionJob:
    """A recomputation under way (this collector's memory of it; storage holds where it is)."""

    first_round: int  # events opened from here on are the recomputation's to confirm or withdraw
    next_round: int
    state: Any  # the engine state before next_round
    before: dict[str, StoredEvent]  # events as stored when the job started (opened or updated >= first)
    emitted: dict[str, StoredEvent] = field(default_factory=dict)  # the job's last version of each
    dirty: dict[int, DirtyRound] = field(default_factory=dict)
    changes: tuple[StoredEvent, ...] = ()  # what the finished job changed (WatchEvents)


@dataclass(frozen=True, slots=True)
class RevisionStep:
    """What one step did: rounds recomputed, events to send, late results refused, whether done."""

    revised: tuple[int, ...] = ()
    events: tuple[StoredEvent, ...] = ()
    late_results: int = 0
    late_by_country: tuple[tuple[str, int], ...] = ()
    refused: tuple[tuple[str, int], ...] = ()  # late results that revise nothing, by reason
    finished: bool = False
    state: Any = None  # the engine state after the latest round, when finished
    latest_round: int = -1


@dataclass(slots=True)
class Reviser:
    """The round loop's reviser: holds the job between steps (blocking calls, one thread)."""

    app: CollectorApp
    revise_window_s: float = DEFAULT_REVISE_WINDOW_S
    budget_s: float | None = None
    job: RevisionJob | None = None
    seen_batch_key: int | None = None  # batches above it are not yet looked at for refusals
    counted: set[tuple[int, int]] = field(default_factory=set)  # late (round, batch) in the metric
    # Batches at or below this key were looked at and are not late (or were revised since): each
    # step reads only newer ones. It lags one look behind the newest key, so that a PostgreSQL
    # batch that took its key before another's but committed after is still seen.
    late_floor_key: int = 0
    _newest_key_seen: int = 0
    # (probe AS, probe country) of the late results the job under way took in: the outage events
    # of those scopes get the inside view's sentence (collector/verdict/inside_view.py).
    late_scopes: set[tuple[int, str]] = field(default_factory=set)

    def window_rounds(self) -> int:
        return window_rounds(self.revise_window_s, timedelta(seconds=self.app.config.round_seconds))

    def advance(self) -> RevisionStep:
        """Plan from storage, then recompute for at most the budget (blocking)."""
        import vantage.collector.verdict.engine as engine

        storage = self.app.storage
        latest = storage.latest_round()
        if latest is None:
            return RevisionStep()
        oldest = latest.number - self.window_rounds()
        refused = self._refused(oldest, latest.number)
        newest_key = storage.last_batch_key()
        late = storage.late_batches(oldest, after_key=self.late_floor_key)
        floor = self._newest_key_seen
        if late:
            floor = min(floor, min(mark.batch_key for mark in late) - 1)
        self.late_floor_key, self._newest_key_seen = max(self.late_floor_key, floor), newest_key
        if not late:
            self.counted = set()
        step_late = 0
        by_country: dict[str, int] = {}
        if late:
            computed = {r.number for r in storage.computed_rounds(oldest, latest.number)}
            results: list[LateResult] = []
            keys_of: dict[int, set[int]] = {}
            for mark in late:
                keys_of.setdefault(mark.round, set()).add(mark.batch_key)
            for number, keys in sorted(keys_of.items()):
                batches = [b for b in storage.round_batches(number) if b.batch_key in keys]
                for batch in batches:
                    new = (number, batch.batch_key) not in self.counted
                    for m in round_measurements([batch], number, {}):
                        results.append(LateResult(m.probe_id, number))
                        if new:  # a late batch waits for its revision over several steps
                            self.late_scopes.add((m.probe_asn, m.probe_country))
                            step_late += 1
                            by_country[m.probe_country] = by_country.get(m.probe_country, 0) + 1
            self.counted = {(mark.round, mark.batch_key) for mark in late}
            plan = plan_revisions(
                results,
                computed,
                current_round=latest.number,
                revise_window_s=self.revise_window_s,
                round_length=timedelta(seconds=self.app.config.round_seconds),
            )
            if plan.dirty:
                self._start_or_restart(plan.dirty[0].round_number, engine)
                assert self.job is not None
                self.job.dirty = {d.round_number: d for d in plan.dirty}
        if self.job is None:
            pending = storage.pending_revision()
            if pending is None or pending > latest.number:
                return RevisionStep(
                    late_results=step_late, late_by_country=tuple(sorted(by_country.items())), refused=refused
                )
            self._start_or_restart(pending, engine)
        return dataclasses.replace(self._recompute(latest, engine, step_late, by_country), refused=refused)

    def _refused(self, oldest: int, latest: int) -> tuple[tuple[str, int], ...]:
        """Late results stored since the last look that revise nothing, by reason. Counted once
        per collector from the batches it has not looked at (at start: none of the stored ones);
        on PostgreSQL a batch committed out of key order may be missed: a metric, not a record."""
        storage = self.app.storage
        last = storage.last_batch_key()
        if self.seen_batch_key is None:
            self.seen_batch_key = last
            return ()
        found = [
            (n, k)
            for n, k, _ in storage.unrevisable_batches(
                self.seen_batch_key, oldest_round=oldest, latest_round=latest
            )
            if k <= last
        ]
        self.seen_batch_key = last
        counts: dict[str, int] = {}
        keys_of: dict[int, set[int]] = {}
        for number, key in found:
            keys_of.setdefault(number, set()).add(key)
        for number, keys in keys_of.items():
            batches = [b for b in storage.round_batches(number) if b.batch_key in keys]
            reason = REFUSED_TOO_OLD if number < oldest else REFUSED_NO_ROUND
            counts[reason] = counts.get(reason, 0) + len(round_measurements(batches, number, {}))
        return tuple(sorted(counts.items()))

    def _start_or_restart(self, number: int, engine: Any) -> None:
        job = self.job
        if job is not None and number >= job.next_round:
            return  # the job has yet to reach it
        first = number if job is None else min(number, job.first_round)
        rows = self.app.storage.load_engine_rows_before(number)
        state = engine.EngineState.from_rows(rows) if rows else engine.EngineState.initial()
        since = self.app.round_start(first)
        before = {
            e.event_id: e
            for e in self.app.storage.list_events(since_unix_s=since)
            if e.opened_round >= first or e.updated_round >= first
        }
        if job is not None:
            before = job.before | {k: v for k, v in before.items() if k not in job.before}
        emitted = {} if job is None else {k: v for k, v in job.emitted.items() if v.updated_round < number}
        self.job = RevisionJob(
            first_round=first, next_round=number, state=state, before=before, emitted=emitted
        )

    def _recompute(
        self, latest: RoundRecord, engine: Any, step_late: int, by_country: dict[str, int]
    ) -> RevisionStep:
        job = self.job
        assert job is not None
        app = self.app
        storage = app.storage
        length = app.config.round_seconds
        budget = self.budget_s if self.budget_s is not None else BUDGET_FRACTION_OF_ROUND * length
        started = time.perf_counter()
        computed = {r.number: r for r in storage.computed_rounds(job.next_round, latest.number)}
        held = {r.round: r for r in storage.round_revisions(job.next_round, latest.number)}
        revised: list[int] = []
        finished = False
        while True:
            number = job.next_round
            if number > latest.number:
                # Past the latest round without recomputing it (it reached it at an earlier
                # step): its changes were not stored for relaying.
                job.changes = job.changes or _changed_events(job, latest.number)
                finished = True
                break
            if number not in computed:  # a round nobody computed (the collectors were down)
                job.next_round += 1
                continue
            read_at = app.clock()
            result, state = recompute_round(app, engine, number, job.state, computed[number])
            previous = held.get(number)
            dirty = job.dirty.get(number)
            late_results = (previous.late_results if previous else 0) + (dirty.late_results if dirty else 0)
            late_probes = max(previous.late_probes if previous else 0, dirty.late_probes if dirty else 0)
            record = RevisionRecord(
                round=number,
                revision=(previous.revision if previous else 0) + 1,
                revised_at_unix_s=app.clock(),
                read_at_unix_s=read_at,
                late_results=late_results,
                late_probes=late_probes,
                revised_by=app.config.collector_id,
            )
            for e in result.events:
                job.emitted[e.event_id] = e
            last = number == latest.number
            withdrawn: list[str] = []
            changes: tuple[StoredEvent, ...] = ()
            events = result.events
            if last:
                # Stored now, not only at the start: a live round of the old chain may have
                # opened an event while the recomputation ran.
                stored_now = storage.list_events(since_unix_s=app.round_start(job.first_round))
                job.before |= {
                    e.event_id: e
                    for e in stored_now
                    if e.event_id not in job.before and e.event_id not in job.emitted
                }
                withdrawn = [
                    k
                    for k, e in job.before.items()
                    if k not in job.emitted and e.opened_round >= job.first_round and _revisable(e)
                ]
                # The job's last version of every event it emitted: a live round computed from
                # the old chain while the job ran may have stored a version the job's chain
                # never had. Outages of the scopes late results came from say what the probes
                # inside measured.
                job.emitted = {
                    k: self._with_inside_view(e, job.before.get(k), latest.number, result)
                    for k, e in job.emitted.items()
                }
                events = tuple(job.emitted.values())
            if last:
                # What WatchEvents sends: stored too, for the other collectors to relay.
                changes = _changed_events(job, latest.number)
            storage.store_revision(
                dataclasses.replace(result, events=events),
                record,
                withdrawn_events=withdrawn,
                event_changes=changes,
                engine_rows_now=(
                    [(k, v) for k, v in state.rows(None).items() if v is not None] if last else None
                ),
                pending_round=None if last else number + 1,
            )
            job.state = state
            job.next_round = number + 1
            job.dirty.pop(number, None)
            revised.append(number)
            if last:
                job.changes = changes
                finished = True
                break
            if time.perf_counter() - started >= budget:
                break
        if not finished:
            return RevisionStep(
                revised=tuple(revised),
                late_results=step_late,
                late_by_country=tuple(sorted(by_country.items())),
                latest_round=latest.number,
            )
        events_out = job.changes
        final_state = job.state
        self.job = None
        self.late_scopes = set()
        return RevisionStep(
            revised=tuple(revised),
            events=events_out,
            late_results=step_late,
            late_by_country=tuple(sorted(by_country.items())),
            finished=bool(revised),
            state=final_state,
            latest_round=latest.number,
        )

    def _with_inside_view(
        self, event: StoredEvent, stored: StoredEvent | None, latest_round: int, latest_result: RoundResult
    ) -> StoredEvent:
        """An outage of a scope late results came from, with the sentence of what the probes
        inside it measured during the outage (from every stored result of its rounds); another
        outage keeps the sentence its stored version has."""
        if event.kind != EventKind.OUTAGE:
            return event
        if not any(
            (asn == event.asn) if event.asn else (country == event.country)
            for asn, country in self.late_scopes
        ):
            return keep_inside_views_of(event, stored)
        app = self.app
        storage = app.storage
        length = app.config.round_seconds
        first = max(app.round_number(event.started_at_unix_s), latest_round - self.window_rounds())
        last = latest_round if event.ended_at_unix_s is None else app.round_number(event.ended_at_unix_s)
        last = min(last, latest_round)
        # The rounds in which the scope was DOWN: the latest from this recomputation (not yet
        # stored), the others as stored.
        since, until = app.round_start(first), app.round_start(last + 1)
        stored_rounds = (
            storage.as_timeline(event.asn, since, until)
            if event.asn
            else storage.country_timeline(event.country, since, until)
        )
        # Each DOWN round with the share of targets the outside saw answer.
        down = {
            v.round: v.reachability_ratio
            for v in stored_rounds
            if v.status == Status.DOWN and v.round < latest_round
        }
        latest_rows = latest_result.as_verdicts if event.asn else latest_result.country_verdicts
        for v in latest_rows:
            if v.status == Status.DOWN and (
                (v.asn == event.asn) if isinstance(v, StoredAsVerdict) else (v.country == event.country)
            ):
                down[latest_round] = v.reachability_ratio
        targets = {t.target_id: t.country for t in storage.list_targets()}
        found: list[InsideMeasurement] = []
        for number in rounds_to_read(down):
            batches = [
                b
                for b in storage.round_batches(number)
                if ((b.probe_asn == event.asn) if event.asn else (b.probe_country == event.country))
            ]
            start = app.round_start(number)
            for m in round_measurements(batches, number, {}):
                found.append(
                    InsideMeasurement(
                        probe_id=m.probe_id,
                        probe_asn=m.probe_asn,
                        probe_country=m.probe_country,
                        target_id=m.target_id,
                        target_country=targets.get(m.target_id)
                        or (app.locator.locate(m.target_address)[1] if m.target_address else ""),
                        answered=m.outcome == _OUTCOME_OK,
                        round_start_unix_s=start,
                        round_length_s=length,
                    )
                )
        view = inside_view(
            found,
            asn=event.asn,
            country=event.country,
            since_unix_s=event.started_at_unix_s,
            until_unix_s=event.ended_at_unix_s,
        )
        if view is None:
            # Nothing from inside in this job's rounds (another AS's late batch, or rounds after
            # the outage): what an earlier revision established stays.
            return keep_inside_views_of(event, stored)
        return with_inside_evidence(event, inside_sentence(view, asn=event.asn, country=event.country))


def keep_inside_views(storage: Storage, events: tuple[StoredEvent, ...]) -> tuple[StoredEvent, ...]:
    """A live round's events, each outage keeping the inside view's sentence a revision gave its
    stored version (the engine writes the summary afresh each round it emits the event)."""
    outages = [e for e in events if e.kind == EventKind.OUTAGE]
    if not outages:
        return events
    stored = {
        e.event_id: e
        for e in storage.list_events(since_unix_s=min(e.started_at_unix_s for e in outages))
        if e.kind == EventKind.OUTAGE
    }
    return tuple(keep_inside_views_of(e, stored.get(e.event_id)) for e in events)


def keep_inside_views_of(event: StoredEvent, stored: StoredEvent | None) -> StoredEvent:
    sentence = inside_part(event_summary(stored)) if stored is not None else ""
    if sentence and not inside_part(event_summary(event)):
        return with_inside_evidence(event, sentence)
    return event


def _differs(old: StoredEvent | None, new: StoredEvent) -> bool:
    """Whether a recomputation changed an event as users see it: found it, moved its start or
    end, or changed its evidence."""
    return old is None or (old.started_at_unix_s, old.ended_at_unix_s, event_summary(old)) != (
        new.started_at_unix_s,
        new.ended_at_unix_s,
        event_summary(new),
    )


def _revisable(event: StoredEvent) -> bool:
    """Silence events are live signals (collector/service/silence_signal.py): not recomputed."""
    return event.kind != PROBES_DISCONNECTED_KIND


def _changed_events(job: RevisionJob, revised_round: int) -> tuple[StoredEvent, ...]:
    """Events whose start or end the recomputation moved, or that it found (REVISED), and those
    it refuted (WITHDRAWN)."""
    out = []
    for event_id, event in sorted(job.emitted.items()):
        if _differs(job.before.get(event_id), event):
            out.append(marked_event(event, change=REVISED, revised_round=revised_round))
    for event_id, old in sorted(job.before.items()):
        if event_id not in job.emitted and old.opened_round >= job.first_round and _revisable(old):
            out.append(marked_event(old, change=WITHDRAWN, revised_round=revised_round))
    return tuple(out)


def recompute_round(
    app: CollectorApp, engine: Any, number: int, state_before: Any, record: RoundRecord
) -> tuple[RoundResult, Any]:
    """Round `number` computed again from `state_before` with every result stored now, judged as
    a first computation is (judge_round.py), without storing. Returns the result to store and the
    state after the round."""
    # The routes heard when the round was first computed; none once forgotten (app.py).
    judged = judge_round(app, engine, number, state_before, app.routing_by_round.get(number))
    output = judged.output
    result = RoundResult(
        round=dataclasses.replace(
            record,
            observations=judged.observations,
            suspect_probes=tuple(output.suspect_probes),
            offline_probes=tuple(output.offline_probes),
        ),
        as_verdicts=judged.as_rows,
        country_verdicts=judged.country_rows,
        events=tuple(stored_event(e) for e in output.events),
        engine_rows=tuple(output.state.rows(output.changed_asns).items()),
    )
    return result, output.state
