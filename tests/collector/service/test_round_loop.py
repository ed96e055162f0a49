"""The round step in-process: stored measurements → verdict engine → stored verdicts, events, watchers.

The clock is injected: rounds are computed by calling RoundLoop.step() with the
clock set just after each round's end; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.collector.batches import MeasurementRow, batch_of
from vantage.collector.bgp.model import AsRouting, RoutingSnapshot, RoutingState
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.storage.records import (
    EnrollmentToken,
    ProbeRecord,
    TargetRecord,
    TokenStatus,
)
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import query_service_pb2

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000  # a round in January 2026
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
PROBES = {"p-a": (64601, "DE"), "p-b": (64602, "FR"), "p-c": (64603, "SE")}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def setup_app(db_path: Path, routing: RoutingSnapshot | None = None) -> tuple[CollectorApp, Clock]:
    storage = SqliteStorage(db_path)
    clock = Clock()
    clock.now = FIRST_ROUND * ROUND_S
    app = CollectorApp(
        storage,
        CollectorConfig(collector_id="test", round_seconds=ROUND_S),
        Locator(()),
        clock=clock,
        routing=routing,
    )
    for n, (probe_id, (asn, country)) in enumerate(PROBES.items()):
        storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        record = ProbeRecord(probe_id, probe_id, f"c{n}", clock.now, pinned_asn=asn, pinned_country=country)
        assert storage.enroll_probe(f"h{n}", record, clock.now) is TokenStatus.OK
    storage.upsert_targets(
        [
            TargetRecord(address, address, "address", (1,), country, asn, (), "csv", address, 0.0)
            for targets, asn, country in ((KZ_TARGETS, 64500, "KZ"), (NL_TARGETS, 64520, "NL"))
            for address in targets
        ]
    )
    return app, clock


def submit_round(app: CollectorApp, round_number: int, *, kz_down: bool) -> None:
    for probe_id, (asn, country) in PROBES.items():
        rows = []
        for address in KZ_TARGETS + NL_TARGETS:
            failing = kz_down and address in KZ_TARGETS
            rows.append(
                MeasurementRow(
                    str(uuid.uuid4()), probe_id, round_number, "", address, address,
                    64500 if address in KZ_TARGETS else 64520, asn, country, 1, 2 if failing else 1,
                    "generic_timeout_error" if failing else "", None if failing else 20.0,
                    1.0 if failing else 0.0, 0, "", 0, "",
                    round_number * ROUND_S + 10, round_number * ROUND_S + 20, b"",
                )
            )  # fmt: skip
        app.storage.ingest(batch_of(rows))


ROUNDS = 8
OUTAGE_FROM = 5  # AS64500's targets stop answering from this round on


async def run_rounds(app: CollectorApp, clock: Clock) -> list[query_service_pb2.Event]:
    """Compute ROUNDS rounds (AS64500 down from OUTAGE_FROM); the KZ events watchers saw."""
    loop = RoundLoop(app)
    watcher = app.events.subscribe(country="KZ")
    for offset in range(ROUNDS):
        number = FIRST_ROUND + offset
        submit_round(app, number, kz_down=offset >= OUTAGE_FROM)
        clock.now = (number + 1) * ROUND_S + 0.2 * ROUND_S  # just after the round's end and grace
        computed = await loop.step()
        assert computed is not None and computed.number == number
        assert await loop.step() is None  # nothing new due: no recompute
    seen = []
    while not watcher.queue.empty():
        item = watcher.queue.get_nowait()
        assert item is not None
        seen.append(query_service_pb2.Event.FromString(item.payload))
    return seen


def withdrawn_in_the_outage(start_unix_s: float) -> Mapping[int, AsRouting]:
    """The routing signal of the history: AS64500's 4 prefixes are withdrawn when its targets fall
    silent (a route withdrawal, as in Kazakhstan 2022); AS64520's stay visible."""
    gone = start_unix_s >= (FIRST_ROUND + OUTAGE_FROM) * ROUND_S
    return {
        64500: AsRouting(
            64500,
            RoutingState.WITHDRAWN if gone else RoutingState.VISIBLE,
            0 if gone else 4,
            4,
            0 if gone else 1024,
            1024,
            12,
            "",
        ),
        64520: AsRouting(64520, RoutingState.VISIBLE, 2, 2, 512, 512, 12, ""),
    }


def compute_history(db_path: Path) -> None:
    """A database holding ROUNDS computed rounds (for query tests against a real collector), with
    a routing signal."""
    app, clock = setup_app(db_path, routing=withdrawn_in_the_outage)
    try:
        asyncio.run(run_rounds(app, clock))
    finally:
        app.close()
        app.storage.close()


def test_rounds_produce_verdicts_events_and_watcher_messages(tmp_path: Path) -> None:
    app, clock = setup_app(tmp_path / "c.sqlite3")
    try:
        events = asyncio.run(run_rounds(app, clock))
        storage = app.storage
        latest = storage.latest_as_verdict(64500)
        assert latest is not None and latest.round == FIRST_ROUND + 7
        status = query_service_pb2.AsStatus.FromString(latest.payload)
        assert status.status == query_service_pb2.STATUS_DOWN
        assert status.evidence.vantage_points == 3
        assert status.algorithm_version
        control = storage.latest_as_verdict(64520)
        assert control is not None and control.status == query_service_pb2.STATUS_UP
        timeline = storage.as_timeline(64500, 0, 1e12)
        assert [v.round for v in timeline] == [FIRST_ROUND + n for n in range(8)]
        assert any(e.kind == query_service_pb2.EVENT_KIND_OUTAGE and e.asn == 64500 for e in events)
        stored = storage.list_events(asn=64500, open_only=True)
        assert stored and stored[0].opened_round >= FIRST_ROUND + 5
        country = storage.latest_country_verdict("KZ")
        assert country is not None
        assert storage.load_engine_rows()  # the engine state, one row per AS (state.py)
        latest_round = storage.latest_round()
        assert latest_round is not None and latest_round.computed_by == "test"
    finally:
        app.close()
        app.storage.close()


def test_a_round_claimed_elsewhere_is_not_recomputed(tmp_path: Path) -> None:
    app, clock = setup_app(tmp_path / "c.sqlite3")
    from vantage.collector.storage.records import RoundRecord

    number = FIRST_ROUND
    assert app.storage.claim_round(RoundRecord(number, number * ROUND_S, ROUND_S, "other", 0.0))
    clock.now = (number + 1.2) * ROUND_S
    try:
        assert asyncio.run(RoundLoop(app).step()) is None
        assert app.storage.latest_as_verdict(64500) is None
    finally:
        app.close()
        app.storage.close()


def test_the_round_is_fused_with_the_routing_signal_asked_once_per_round(tmp_path: Path) -> None:
    asked: list[float] = []

    def snapshot(start_unix_s: float) -> Mapping[int, AsRouting]:
        asked.append(start_unix_s)
        return withdrawn_in_the_outage(start_unix_s)

    app, clock = setup_app(tmp_path / "c.sqlite3", routing=snapshot)
    try:
        events = asyncio.run(run_rounds(app, clock))
        assert asked == [(FIRST_ROUND + n) * ROUND_S for n in range(ROUNDS)]
        latest = app.storage.latest_as_verdict(64500)
        assert latest is not None and latest.mechanism == query_service_pb2.MECHANISM_BGP_WITHDRAWAL
        status = query_service_pb2.AsStatus.FromString(latest.payload)
        assert status.mechanism == query_service_pb2.MECHANISM_BGP_WITHDRAWAL
        assert status.evidence.routing.visible_prefixes == 0
        assert "routes withdrawn: 0/4 prefixes of AS64500" in status.evidence.mechanism_reason
        outage = next(e for e in events if e.asn == 64500)
        assert outage.mechanism == query_service_pb2.MECHANISM_BGP_WITHDRAWAL
        control = app.storage.latest_as_verdict(64520)
        assert control is not None and control.mechanism == query_service_pb2.MECHANISM_UNSPECIFIED
    finally:
        app.close()
        app.storage.close()


def test_a_failing_routing_snapshot_is_logged_and_the_round_judged_on_probes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(start_unix_s: float) -> Mapping[int, AsRouting]:
        raise RuntimeError("route feed table not loaded")

    app, clock = setup_app(tmp_path / "c.sqlite3", routing=broken)
    try:
        with caplog.at_level(logging.ERROR, logger="vantage.collector"):
            asyncio.run(run_rounds(app, clock))
        assert "routing snapshot failed" in caplog.text
        latest = app.storage.latest_as_verdict(64500)
        assert latest is not None and latest.status == query_service_pb2.STATUS_DOWN
        assert latest.mechanism == query_service_pb2.MECHANISM_UNKNOWN  # probes alone cannot tell
    finally:
        app.close()
        app.storage.close()
