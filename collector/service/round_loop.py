"""The round loop: turn each ended round's measurements into verdicts and events.

Theory of operation:
- Round n covers [n·L, (n+1)·L) of wall-clock time (L = --round-seconds), so
  every collector on one database agrees on round numbers. Round n is
  computed once its end plus a grace period (a tenth of a round) has passed:
  the last uploads of the round arrive just after it ends.
- `claim_round` in storage lets exactly one collector compute a round (for
  SQLite one process; PostgreSQL adds leader election behind the same call).
  A collector that did not compute a round still publishes its events to its
  own WatchEvents streams, read back from storage.
- A measurement of round n arriving after n was computed (store-and-forward
  from a probe that was cut off) makes n dirty: after the live round, the
  collector that computed it recomputes n and the rounds after it, as new
  revisions, a bounded share of a round at a time (collector/service/revisions.py).
- The engine state is stored as rows (one per AS plus a meta row, collector/verdict/state.py);
  a round writes only the rows it changed. The collector that computed the last round keeps its
  state in memory and skips the load; any other reads the rows (or, once, schema 1's blob).
- The clock and the sleep are injectable: tests call `step()` directly or run
  real processes with 1-2 s rounds; nothing waits for a real 5-minute round.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vantage.collector.bgp.model import AsRouting
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.followers import EVENT_CHANGES_KEPT, EventRelay, missed_rounds
from vantage.collector.service.judge_round import judge_round
from vantage.collector.service.revisions import Reviser, RevisionStep, keep_inside_views
from vantage.collector.service.silence_signal import silence_events
from vantage.collector.service.work import probe_slot
from vantage.collector.storage.records import RoundRecord, RoundResult, StoredEvent
from vantage.collector.wire.record_messages import probe_state
from vantage.collector.wire.verdicts import stored_event

log = logging.getLogger("vantage.collector")

# Without a loadable verdict engine the collector still enrolls, assigns and
# ingests (nothing acked is lost); rounds are skipped with a warning saying why.
_ENGINE_PROBLEM = ""
try:
    import vantage.collector.verdict.engine as _engine
except ImportError as _missing:
    _engine = None  # type: ignore[assignment]
    _ENGINE_PROBLEM = f"{type(_missing).__name__}: {_missing}"

STATE_NAMES = {1: "alive", 2: "silent", 3: "revoked"}

# The state this collector left after the last round it computed: (round, EngineState).
_LAST_STATE: weakref.WeakKeyDictionary[CollectorApp, tuple[int, Any]] = weakref.WeakKeyDictionary()


def load_state(app: CollectorApp) -> tuple[Any, bool]:
    """The engine state for the next round, and whether it came from schema 1's blob (then every
    row must be written). From memory when this collector computed the latest round."""
    assert _engine is not None
    latest = app.storage.latest_round()
    held = _LAST_STATE.get(app)
    if (
        held is not None
        and latest is not None
        and latest.number == held[0]
        and latest.computed_by == app.config.collector_id
    ):
        return held[1], False
    rows = app.storage.load_engine_rows()
    if rows:
        return _engine.EngineState.from_rows(rows), False
    blob = app.storage.load_engine_state()
    if blob:
        return _engine.EngineState.from_bytes(blob), True
    return _engine.EngineState.initial(), False


@dataclass(frozen=True, slots=True)
class ComputedRound:
    number: int
    events: tuple[StoredEvent, ...]
    suspect_probes: tuple[str, ...]
    observations: int
    duration_s: float
    verdict_s: float
    snapshot: Any  # the engine's RoundOutput, for the metrics snapshot


def _routing_of(app: CollectorApp, number: int, start_unix_s: float) -> Mapping[int, AsRouting] | None:
    """The routing signal for the round, asked once; a snapshot that fails is no routing signal
    (the verdicts then name mechanisms from the probes alone), never a failed round."""
    if app.routing is None:
        return None
    try:
        snapshot = app.routing(start_unix_s)
    except Exception:
        log.exception("round %d: routing snapshot failed, computing without a routing signal", number)
        return None
    # A revision of this round (revisions.py) judges it with the routes of its own time.
    app.routing_by_round.put(number, snapshot)
    return snapshot


def compute_round(app: CollectorApp, number: int) -> ComputedRound | None:
    """Claim and compute one round (blocking; on a worker thread). None when another
    collector claimed it or the verdict engine is missing."""
    if _engine is None:
        return None
    started = time.perf_counter()
    storage = app.storage
    length = app.config.round_seconds
    start_unix_s = app.round_start(number)
    claim = RoundRecord(
        number=number,
        start_unix_s=start_unix_s,
        length_s=length,
        computed_by=app.config.collector_id,
        claimed_at_unix_s=app.clock(),
    )
    if not storage.claim_round(claim):
        return None
    state, from_blob = load_state(app)
    judged = judge_round(app, _engine, number, state, _routing_of(app, number, start_unix_s))
    output, probes, measurements = judged.output, judged.probes, judged.measurements
    as_rows, country_rows, version = judged.as_rows, judged.country_rows, judged.algorithm_version
    events = tuple(stored_event(e) for e in output.events)
    events = silence_events(app, number, list(probes.values()), measurements, output, events)
    events = keep_inside_views(app.storage, events)
    rows = output.state.rows(None if from_blob else output.changed_asns)
    suspects = tuple(sorted(set(output.suspect_probes) | set(output.offline_probes)))
    storage.store_round_result(
        RoundResult(
            round=RoundRecord(
                number=number,
                start_unix_s=start_unix_s,
                length_s=length,
                computed_by=app.config.collector_id,
                claimed_at_unix_s=claim.claimed_at_unix_s,
                computed_at_unix_s=app.clock(),
                observations=judged.observations,
                suspect_probes=tuple(output.suspect_probes),
                offline_probes=tuple(output.offline_probes),
                algorithm_version=version,
            ),
            as_verdicts=as_rows,
            country_verdicts=country_rows,
            events=events,
            engine_rows=tuple(rows.items()),
        )
    )
    _LAST_STATE[app] = (number, output.state)
    # Discovery results feed block histories only after the round is stored, then selection.
    try:
        if app.discovery.after_round(number, measurements, app.clock()):
            app.discovery.refresh_targets(app.clock())
    except Exception:
        log.exception("round %d: discovery update failed", number)
    return ComputedRound(
        number=number,
        events=events,
        suspect_probes=suspects,
        observations=judged.observations,
        duration_s=time.perf_counter() - started,
        verdict_s=judged.verdict_s,
        snapshot=output,
    )


def revise_step(app: CollectorApp, reviser: Reviser) -> RevisionStep | None:
    """One share of revision work (blocking), on the collector that computed the latest round
    (on PostgreSQL storage also fences it by the leader's term); the engine state history older
    than the revise window is folded here, and the event changes kept for followers bounded."""
    latest = app.storage.latest_round()
    if latest is None or latest.computed_by != app.config.collector_id:
        reviser.job = None  # another collector holds the rounds (and the revisions)
        return None
    step = reviser.advance()
    if reviser.job is None:
        app.storage.prune_engine_history(latest.number - reviser.window_rounds())
        app.storage.prune_event_changes(EVENT_CHANGES_KEPT)
    return step


def housekeeping(app: CollectorApp) -> dict[str, int]:
    """Retention of raw measurements, and the probe-state counts (blocking)."""
    now = app.clock()
    app.storage.delete_measurements_before(now - app.config.retention_s)
    counts = dict.fromkeys(STATE_NAMES.values(), 0)
    for probe in app.storage.list_probes():
        state = probe_state(probe, now_unix_s=now, silent_after_s=app.config.silent_after_s)
        counts[STATE_NAMES[state]] += 1
    return counts


def publish_discovery_metrics(app: CollectorApp) -> None:
    """Campaign progress and coverage per country, for Prometheus (blocking)."""
    from vantage.collector.discovery.coverage import country_coverage
    from vantage.collector.metrics.service_metrics import CampaignFigures, CountryCoverageFigures

    discovery = app.discovery
    now = app.clock()
    campaigns = []
    for record in discovery.active_campaigns():
        progress = discovery.progress(record, now, app.guard.policy)
        campaigns.append(
            CampaignFigures(
                record.campaign_id, progress.blocks_total, progress.blocks_done, progress.responders
            )
        )
    rows = discovery.coverage_rows([probe_slot(p) for p in app.storage.list_probes() if not p.revoked])
    coverage = [
        CountryCoverageFigures(
            c.country, c.address_space, c.analysable_address_space, c.ases, c.analysable_ases
        )
        for c in (country_coverage(code, rows) for code in sorted({row.country for row in rows}))
    ]
    app.metrics.set_discovery(campaigns, coverage)


class RoundLoop:
    def __init__(
        self,
        app: CollectorApp,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self._sleep = sleep
        self._stopping = asyncio.Event()
        self.last_seen_round = -1
        self._warned = False
        self.relay = EventRelay(app)
        self.reviser = Reviser(app, revise_window_s=app.config.revise_window_s)

    def due_round(self, now_unix_s: float) -> int:
        """The latest round whose end plus grace has passed."""
        length = self.app.config.round_seconds
        grace = length * self.app.config.round_grace_fraction
        return int((now_unix_s - grace) // length) - 1

    async def step(self) -> ComputedRound | None:
        """Compute the due round if nobody has; publish new events either way."""
        app = self.app
        number = self.due_round(app.clock())
        if number <= self.last_seen_round:
            await self.relay.follow()  # rounds computed by other collectors (followers.py)
            await self.revise()  # late results of rounds already computed
            return None
        computed: ComputedRound | None = None
        if _engine is None:
            if not self._warned:
                log.warning("verdict engine not available, rounds are not computed (%s)", _ENGINE_PROBLEM)
                self._warned = True
        else:
            try:
                # A new leader first computes the rounds its predecessor left undone (followers.py).
                for missed in await app.blocking(missed_rounds, app.storage, number):
                    self._publish(await app.blocking(compute_round, app, missed))
                computed = await app.blocking(compute_round, app, number)
            except Exception:
                log.exception("round %d: computation failed", number)
        if computed is not None:
            self._publish(computed)
        else:
            await self.relay.follow()
        self.last_seen_round = number
        await self.revise()
        try:
            counts = await app.blocking(housekeeping, app)
            if app.metrics is not None:
                app.metrics.set_probe_states(counts)
                app.metrics.set_storage_bytes(app.storage.storage_bytes())
                await app.blocking(publish_discovery_metrics, app)
        except Exception:
            log.exception("housekeeping failed")
        return computed

    async def revise(self) -> RevisionStep | None:
        """Recompute dirty rounds for a share of a round, when this collector holds the rounds."""
        app = self.app
        if _engine is None:
            return None
        try:
            step = await app.blocking(revise_step, app, self.reviser)
        except Exception:
            log.exception("revision of late results failed")
            self.reviser.job = None
            return None
        if step is None:
            return None
        if step.finished:
            _LAST_STATE[app] = (step.latest_round, step.state)
            log.info("revised rounds up to %d: %d events revised", step.latest_round, len(step.events))
        if step.events:
            app.events.publish(step.events)
        if step.refused:
            log.warning(
                "late results stored that revise nothing: %s",
                ", ".join(f"{count} {reason}" for reason, count in step.refused),
            )
        if app.metrics is not None and (step.revised or step.late_results or step.refused):
            app.metrics.observe_revisions(
                revised_rounds=len(step.revised),
                late_by_country=dict(step.late_by_country),
                refused_by_reason=dict(step.refused),
            )
        return step

    def _publish(self, computed: ComputedRound | None) -> None:
        if computed is None:
            return
        self.app.events.publish(computed.events)
        self.app.suspect_probes = frozenset(computed.suspect_probes)
        self.relay.computed_here(computed.number)
        log.info(
            "round %d: %d observations, %d events, %.3f s",
            computed.number,
            computed.observations,
            len(computed.events),
            computed.duration_s,
        )
        self._observe(computed)

    def _observe(self, computed: ComputedRound) -> None:
        metrics = self.app.metrics
        if metrics is None:
            return
        metrics.observe_round(
            round_number=computed.number,
            duration_s=computed.duration_s,
            verdict_s=computed.verdict_s,
            finished_at_unix=self.app.clock(),
        )
        try:
            from vantage.collector.metrics.service_metrics import VerdictSnapshot

            output = computed.snapshot
            names = {v.asn: self.app.locator.as_name(v.asn) for v in output.as_verdicts}
            open_events = [t.event for t in output.state.tracks.values() if t.event is not None]
            metrics.set_verdict_snapshot(
                VerdictSnapshot(
                    as_verdicts=output.as_verdicts,
                    country_verdicts=output.country_verdicts,
                    as_names=names,
                    open_events=open_events,
                )
            )
        except Exception:
            log.exception("metrics snapshot failed")

    async def run(self) -> None:
        app = self.app
        length = app.config.round_seconds
        grace = length * app.config.round_grace_fraction
        while not self._stopping.is_set():
            await self.step()
            next_due = (self.due_round(app.clock()) + 2) * length + grace
            delay = min(max(0.05, next_due - app.clock()), self.relay.poll_s)
            if self.reviser.job is not None:
                delay = 0.05  # a recomputation under way goes on after each live round
            sleeper = asyncio.ensure_future(self._sleep(delay))
            stopper = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for pending in (sleeper, stopper):
                pending.cancel()

    def stop(self) -> None:
        self._stopping.set()
