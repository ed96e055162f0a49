"""Silence as a signal in the round loop (real SQLite, injected clock, RoundLoop.step()).

Probes inside an AS stop reporting together: with an outside-in DOWN of that AS the outage's
summary says the silence corroborates it; without one a "probes disconnected" event opens (its own
kind, not DOWN) and closes when the probes are back. One probe going silent is never an event.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.collector.batches import MeasurementRow, batch_of
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.storage.records import EnrollmentToken, ProbeRecord, TargetRecord, TokenStatus
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import query_service_pb2

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
OUTSIDE = {"out-a": (64601, "DE"), "out-b": (64602, "FR"), "out-c": (64603, "SE")}
INSIDE = {f"in-{n}": (64500, "KZ") for n in range(4)}
ROUNDS = 8


def rows(probe_id: str, number: int, *, kz_down: bool) -> list[MeasurementRow]:
    asn, country = (OUTSIDE | INSIDE)[probe_id]
    out = []
    for address in KZ_TARGETS + NL_TARGETS:
        failing = kz_down and address in KZ_TARGETS and probe_id in OUTSIDE
        out.append(
            MeasurementRow(
                str(uuid.uuid4()), probe_id, number, "", address, address,
                64500 if address in KZ_TARGETS else 64520, asn, country, 1, 2 if failing else 1,
                "generic_timeout_error" if failing else "", None if failing else 20.0,
                1.0 if failing else 0.0, 0, "", 0, "", number * ROUND_S + 10, number * ROUND_S + 20, b"",
            )
        )  # fmt: skip
    return out


def scenario(db: Path, *, silent: set[str], silent_from: int, back_from: int, kz_down: bool) -> list:  # type: ignore[type-arg]
    """ROUNDS rounds; the `silent` probes send nothing in [silent_from, back_from); with `kz_down`
    the outside probes see AS64500's targets fail from silent_from on. Events watchers saw."""
    storage = SqliteStorage(db)
    now = [FIRST_ROUND * ROUND_S]
    app = CollectorApp(
        storage, CollectorConfig(collector_id="t", round_seconds=ROUND_S), Locator(()), clock=lambda: now[0]
    )
    for n, (probe_id, (asn, country)) in enumerate((OUTSIDE | INSIDE).items()):
        storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        record = ProbeRecord(probe_id, probe_id, f"c{n}", 0.0, pinned_asn=asn, pinned_country=country)
        assert storage.enroll_probe(f"h{n}", record, 0.0) is TokenStatus.OK
    storage.upsert_targets(
        [
            TargetRecord(address, address, "address", (1,), country, asn, (), "csv", address, 0.0)
            for targets, asn, country in ((KZ_TARGETS, 64500, "KZ"), (NL_TARGETS, 64520, "NL"))
            for address in targets
        ]
    )

    async def run() -> list:  # type: ignore[type-arg]
        loop = RoundLoop(app)
        watcher = app.events.subscribe()
        for offset in range(ROUNDS):
            number = FIRST_ROUND + offset
            for probe_id in OUTSIDE | INSIDE:
                if probe_id in silent and silent_from <= offset < back_from:
                    continue
                storage.ingest(batch_of(rows(probe_id, number, kz_down=kz_down and offset >= silent_from)))
            now[0] = (number + 1.2) * ROUND_S
            assert await loop.step() is not None
        seen = []
        while not watcher.queue.empty():
            item = watcher.queue.get_nowait()
            assert item is not None
            seen.append(query_service_pb2.Event.FromString(item.payload))
        return seen

    try:
        return asyncio.run(run())
    finally:
        app.close()
        storage.close()


DISCONNECTED = query_service_pb2.EVENT_KIND_PROBES_DISCONNECTED


def test_probes_going_silent_together_open_a_disconnected_event_that_closes_when_they_are_back(
    tmp_path: Path,
) -> None:
    events = scenario(tmp_path / "c.sqlite3", silent=set(INSIDE), silent_from=4, back_from=6, kz_down=False)
    disconnected = [e for e in events if e.kind == DISCONNECTED]
    assert {(e.asn, e.country) for e in disconnected} == {(64500, ""), (0, "KZ")}
    opened = [e for e in disconnected if e.state == query_service_pb2.EVENT_STATE_OPEN]
    closed = [e for e in disconnected if e.state == query_service_pb2.EVENT_STATE_CLOSED]
    assert [e.opened_round - FIRST_ROUND for e in opened] == [4, 4]
    assert sorted(e.updated_round - FIRST_ROUND for e in closed) == [6, 6]
    assert "4 of 4 probes in AS64500 went silent together" in " ".join(e.summary for e in opened)
    # Never DOWN by itself: no outage.
    assert not [e for e in events if e.kind == query_service_pb2.EVENT_KIND_OUTAGE]


def test_one_probe_going_silent_is_never_an_event(tmp_path: Path) -> None:
    events = scenario(tmp_path / "c.sqlite3", silent={"in-0"}, silent_from=4, back_from=ROUNDS, kz_down=False)
    assert not [e for e in events if e.kind == DISCONNECTED]


def test_silence_with_an_outside_in_down_corroborates_the_outage(tmp_path: Path) -> None:
    events = scenario(
        tmp_path / "c.sqlite3", silent=set(INSIDE), silent_from=4, back_from=ROUNDS, kz_down=True
    )
    outages = [e for e in events if e.kind == query_service_pb2.EVENT_KIND_OUTAGE and e.asn == 64500]
    assert outages, events
    assert any(
        "Corroborated from inside: 4 of 4 probes in AS64500 went silent together" in e.summary
        for e in outages
    )
    assert not [e for e in events if e.kind == DISCONNECTED and e.asn == 64500]
