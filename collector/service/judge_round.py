"""One round judged from what storage holds: the steps a first computation (round_loop.py) and a
revision (revisions.py) share, from reading the round's results to the rows to store.

Reading the round's batches, turning them into the engine's columns, the verdict engine, the coverage
gate, localisation from traces and the conversion to stored rows; storing, events' fan-out and
what each path adds (the silence signal, discovery) stay with the caller.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vantage.collector.bgp.model import AsRouting
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.work import probe_slot
from vantage.collector.storage.records import ProbeRecord, StoredAsVerdict, StoredCountryVerdict
from vantage.collector.verdict.coverage_gate import gate_by_coverage, gated_version
from vantage.collector.verdict.localisation import localise_round
from vantage.collector.wire.measurements import round_measurements
from vantage.collector.wire.observations import build_columns
from vantage.collector.wire.traces import round_traces
from vantage.collector.wire.verdicts import stored_as_verdicts, stored_country_verdicts

__all__ = ["JudgedRound", "judge_round"]


@dataclass(frozen=True, slots=True)
class JudgedRound:
    output: Any  # the engine's RoundOutput, localised: verdicts, events and the state after it
    algorithm_version: str
    as_rows: tuple[StoredAsVerdict, ...]
    country_rows: tuple[StoredCountryVerdict, ...]
    probes: dict[str, ProbeRecord]
    measurements: Any  # the round's measurements (discovery and the silence signal read them)
    observations: int
    verdict_s: float  # the engine's share of the time


def judge_round(
    app: CollectorApp,
    engine: Any,
    number: int,
    state_before: Any,
    routing: Mapping[int, AsRouting] | None,
) -> JudgedRound:
    """Round `number` judged from `state_before` with every result stored now (blocking)."""
    storage = app.storage
    length = app.config.round_seconds
    start_unix_s = app.round_start(number)
    round_start = datetime.fromtimestamp(start_unix_s, UTC)
    probes = {p.probe_id: p for p in storage.list_probes()}
    targets = {t.target_id: t for t in storage.list_targets()}
    batches = storage.round_batches(number)
    measurements = round_measurements(batches, number, storage.task_kinds(number))
    # Columns, not one Observation per measurement: the engine's vectorised path reads them as
    # they are (collector/verdict/round_columns.py).
    observations = build_columns(measurements, probes=probes, targets=targets, locate=app.locator.locate)
    verdict_started = time.perf_counter()
    output = engine.evaluate_round(
        observations,
        state_before,
        round_number=number,
        round_start=round_start,
        round_length=timedelta(seconds=length),
        config=engine.VerdictConfig(),
        routing=routing,
    )
    verdict_s = time.perf_counter() - verdict_started
    version = gated_version(str(engine.ALGORITHM_VERSION))
    # An AS of a discovery campaign that is not analysable is UNKNOWN, with the reason.
    as_verdicts = gate_by_coverage(
        output.as_verdicts,
        app.discovery.not_analysable([probe_slot(p) for p in probes.values() if not p.revoked]),
        round_start=round_start,
    )
    # Where the paths towards DOWN/DEGRADED ASes stop, against the traces from before
    # (collector/verdict/localisation.py); traces towards UP ASes become that "before".
    traces = round_traces(batches, number, app.locator.locate)
    as_verdicts, localised_events, paths = localise_round(
        as_verdicts, output.events, traces, output.state.paths
    )
    state = dataclasses.replace(output.state, paths=paths)
    output = dataclasses.replace(output, as_verdicts=as_verdicts, events=localised_events, state=state)
    as_rows, as_messages = stored_as_verdicts(
        output.as_verdicts,
        round_number=number,
        round_start_unix_s=start_unix_s,
        as_name=app.locator.as_name,
        algorithm_version=version,
    )
    country_rows = stored_country_verdicts(
        output.country_verdicts,
        round_number=number,
        round_start_unix_s=start_unix_s,
        as_messages=as_messages,
        algorithm_version=version,
    )
    return JudgedRound(
        output=output,
        algorithm_version=version,
        as_rows=tuple(as_rows),
        country_rows=tuple(country_rows),
        probes=probes,
        measurements=measurements,
        observations=len(observations),
        verdict_s=verdict_s,
    )
