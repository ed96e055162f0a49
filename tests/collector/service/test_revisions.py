"""Late results revise history, through the real collector: gRPC on loopback, real SQLite.

The same measurements are sent twice to two fresh collectors: once on time, once with the inside
probes' results of the cut uploaded after the cut (store-and-forward). After the revisions, the
two timelines and event lists must be equal field by field, but for the marks that say a round
was revised. The clock is injected: rounds are computed by calling RoundLoop.step().
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from tests.collector.batches import MeasurementRow, measurement_of
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.server import build_server
from vantage.collector.storage.records import CredentialRole, EnrollmentToken, TargetRecord
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import (
    probe_service_pb2,
    probe_service_pb2_grpc,
    query_service_pb2,
    query_service_pb2_grpc,
)

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000  # a round in January 2026
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
CUT_AS, CUT_COUNTRY = 64500, "KZ"
OUTSIDE = {"out-a": (64601, "DE"), "out-b": (64602, "FR"), "out-c": (64603, "SE")}
INSIDE = {"in-a": (CUT_AS, CUT_COUNTRY), "in-b": (CUT_AS, CUT_COUNTRY)}
ROUNDS = 12
CUT = range(4, 9)  # round offsets in which AS64500 is cut off
UPLOAD_AFTER = 9  # the inside probes' results of the cut arrive after this round was computed
ADMIN = "admin-secret"


class Clock:
    def __init__(self) -> None:
        self.now = FIRST_ROUND * ROUND_S

    def __call__(self) -> float:
        return self.now


def rows_of(probe_id: str, asn: int, country: str, number: int, offset: int) -> list[MeasurementRow]:
    """What one probe measured in one round: outside probes see the cut AS's targets fail, the
    inside probes see every target outside the country fail."""
    inside = probe_id in INSIDE
    cut = offset in CUT
    rows = []
    for address in KZ_TARGETS + NL_TARGETS:
        target_asn = CUT_AS if address in KZ_TARGETS else 64520
        failing = cut and ((address in NL_TARGETS) if inside else (address in KZ_TARGETS))
        rows.append(
            MeasurementRow(
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"{probe_id}/{number}/{address}")), probe_id, number, "",
                address, address, target_asn, asn, country, 1, 2 if failing else 1,
                "generic_timeout_error" if failing else "", None if failing else 20.0,
                1.0 if failing else 0.0, 0, "", 0, "", number * ROUND_S + 10, number * ROUND_S + 20, b"",
            )
        )  # fmt: skip
    return rows


class Harness:
    """A collector (app + gRPC server on loopback) and its enrolled, pinned probes."""

    def __init__(self, db: Path) -> None:
        self.clock = Clock()
        storage = SqliteStorage(db)
        self.app = CollectorApp(
            storage, CollectorConfig(collector_id="c1", round_seconds=ROUND_S), Locator(()), clock=self.clock
        )
        from vantage.collector.service.auth import hash_secret

        storage.add_credential(hash_secret(ADMIN), CredentialRole.ADMIN, 0.0)
        storage.upsert_targets(
            [
                TargetRecord(address, address, "address", (1,), country, asn, (), "csv", address, 0.0)
                for targets, asn, country in ((KZ_TARGETS, CUT_AS, "KZ"), (NL_TARGETS, 64520, "NL"))
                for address in targets
            ]
        )
        self.loop = RoundLoop(self.app)
        self.credentials: dict[str, str] = {}

    async def start(self) -> None:
        self.server, _ = build_server(self.app)
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.probes = probe_service_pb2_grpc.ProbeServiceStub(self.channel)
        self.queries = query_service_pb2_grpc.QueryServiceStub(self.channel)
        self.watcher = self.app.events.subscribe(country=CUT_COUNTRY)
        for n, (name, (asn, country)) in enumerate((OUTSIDE | INSIDE).items()):
            self.app.storage.add_enrollment_token(EnrollmentToken(f"t{n}", _hash(f"tok{n}"), "", 0.0, 1e12))
            answer = await self.probes.Enroll(
                probe_service_pb2.EnrollRequest(enrollment_token=f"tok{n}", name=name)
            )
            self.app.storage.pin_probe(answer.probe_id, asn, country)
            self.credentials[name] = answer.credential
            self.ids = getattr(self, "ids", {}) | {name: answer.probe_id}

    async def stop(self) -> None:
        await self.channel.close()
        await self.server.stop(None)
        self.app.close()
        self.app.storage.close()

    async def upload(self, name: str, rows: Iterable[MeasurementRow]) -> probe_service_pb2.BatchAck:
        probe_id = self.ids[name]
        batch = probe_service_pb2.ResultBatch(
            batch_id=str(uuid.uuid4()),
            measurements=[measurement_of(r._replace(probe_id=probe_id)) for r in rows],
        )
        call = self.probes.SubmitResults(metadata=bearer_metadata(self.credentials[name]))
        await call.write(batch)
        await call.done_writing()
        acks = [ack async for ack in call]
        assert len(acks) == 1 and not acks[0].rejected, acks
        return acks[0]

    async def close_round(self, number: int) -> None:
        self.clock.now = (number + 1) * ROUND_S + 0.2 * ROUND_S
        computed = await self.loop.step()
        assert computed is not None and computed.number == number

    async def timeline(self, **scope: object) -> query_service_pb2.Timeline:
        request = query_service_pb2.GetTimelineRequest(**scope)  # type: ignore[arg-type]
        request.since.FromSeconds(int(FIRST_ROUND * ROUND_S))
        request.until.FromSeconds(int((FIRST_ROUND + ROUNDS) * ROUND_S))
        return await self.queries.GetTimeline(request)

    def watched(self) -> list[query_service_pb2.Event]:
        seen = []
        while not self.watcher.queue.empty():
            item = self.watcher.queue.get_nowait()
            assert item is not None
            seen.append(query_service_pb2.Event.FromString(item.payload))
        return seen


def _hash(secret: str) -> str:
    from vantage.collector.service.auth import hash_secret

    return hash_secret(secret)


async def run(db: Path, *, late: bool) -> dict[str, object]:
    h = Harness(db)
    await h.start()
    try:
        held_back: dict[str, list[MeasurementRow]] = {name: [] for name in INSIDE}
        before_upload: list[object] = []
        for offset in range(ROUNDS):
            number = FIRST_ROUND + offset
            h.clock.now = number * ROUND_S + 30
            for name, (asn, country) in (OUTSIDE | INSIDE).items():
                rows = rows_of(name, asn, country, number, offset)
                if late and name in INSIDE and offset in CUT:
                    held_back[name].extend(rows)  # cut off: kept in the probe's outbox
                else:
                    await h.upload(name, rows)
            await h.close_round(number)
            if late and offset == UPLOAD_AFTER:
                before_upload = [h.app.storage.as_timeline(asn, 0, 1e12) for asn in (CUT_AS, 64520)]
                for name, rows in held_back.items():  # the link is back: the outbox drains
                    await h.upload(name, rows)
                assert await h.loop.step() is None  # no new round; the revision runs
        return {
            "as": await h.timeline(asn=CUT_AS),
            "country": await h.timeline(country=CUT_COUNTRY),
            "before_upload": before_upload,
            "stored": [h.app.storage.as_timeline(asn, 0, 1e12) for asn in (CUT_AS, 64520)],
            "events": h.app.storage.list_events(),
            "watched": h.watched(),
            "state": h.app.storage.load_engine_rows(),
            "ids": dict(h.ids),
        }
    finally:
        await h.stop()


REVISION_MARKS = ("revision", "revised_at", "late_results", "late_probes")


def unmarked(timeline: query_service_pb2.Timeline) -> query_service_pb2.Timeline:
    out = query_service_pb2.Timeline()
    out.CopyFrom(timeline)
    out.ClearField("as_of")
    for point in out.points:
        for name in REVISION_MARKS:
            point.ClearField(name)
    for event in out.events:
        event.ClearField("change")
        event.ClearField("revised_round")
    return out


def named(run_result: dict[str, object], value: object) -> str:
    """`value` (stored records, messages) as text with each probe's random id replaced by its
    name: the two collectors enrolled the same probes under different ids."""
    text = repr(value) if not hasattr(value, "SerializeToString") else repr(value.SerializeToString())
    ids = run_result["ids"]
    assert isinstance(ids, dict)
    for name, probe_id in ids.items():
        text = text.replace(probe_id, name)
    return text


def test_late_results_give_the_timeline_on_time_results_give(tmp_path: Path) -> None:
    on_time = asyncio.run(run(tmp_path / "on-time.sqlite3", late=False))
    late = asyncio.run(run(tmp_path / "late.sqlite3", late=True))
    on_as, late_as = on_time["as"], late["as"]
    assert isinstance(on_as, query_service_pb2.Timeline) and isinstance(late_as, query_service_pb2.Timeline)
    # The test can fail: before the inside probes' upload, the late collector's verdicts differed.
    before = late["before_upload"]
    assert isinstance(before, list) and [len(b) for b in before] == [UPLOAD_AFTER + 1] * 2
    stored_on_time = on_time["stored"]
    assert isinstance(stored_on_time, list)
    assert named(late, [b[: UPLOAD_AFTER + 1] for b in before]) != named(
        on_time, [b[: UPLOAD_AFTER + 1] for b in stored_on_time]
    )
    # Field by field, but for the marks of the revision.
    assert len(on_as.points) == ROUNDS
    for a, b in zip(unmarked(on_as).points, unmarked(late_as).points, strict=True):
        assert a == b
    assert named(on_time, unmarked(on_as)) == named(late, unmarked(late_as))
    on_country, late_country = on_time["country"], late["country"]
    assert isinstance(on_country, query_service_pb2.Timeline)
    assert isinstance(late_country, query_service_pb2.Timeline)
    assert named(on_time, unmarked(on_country)) == named(late, unmarked(late_country))
    # Every stored verdict of both ASes, payload included, and the events and engine state.
    assert named(on_time, on_time["stored"]) == named(late, late["stored"])
    assert named(on_time, on_time["events"]) == named(late, late["events"])
    assert named(on_time, on_time["state"]) == named(late, late["state"])
    # The revised rounds say so: the cut's rounds with the inside probes' late results.
    revised = {p.round - FIRST_ROUND: p for p in late_as.points if p.revision}
    assert set(revised) == set(range(CUT.start, UPLOAD_AFTER + 1))
    for offset in CUT:
        point = revised[offset]
        assert (point.late_results, point.late_probes) == (len(KZ_TARGETS + NL_TARGETS) * len(INSIDE), 2)
        assert point.revised_at.seconds > 0
    assert revised[UPLOAD_AFTER].late_results == 0  # recomputed for the state its predecessors changed
    assert not any(p.revision for p in on_as.points)


def _ts(seconds: float) -> Timestamp:
    t = Timestamp()
    t.FromSeconds(int(seconds))
    return t
