"""Late results revise history, through the real collector: gRPC on loopback, real SQLite.

The same measurements are sent twice to two fresh collectors: once on time, once with the inside
probes' results of the cut uploaded after the cut (store-and-forward). After the revisions, the
two timelines and event lists must be equal field by field, but for the marks that say a round
was revised. The clock is injected: rounds are computed by calling RoundLoop.step().
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import CollectorRegistry

from tests.collector.batches import MeasurementRow, measurement_of
from tests.collector.issued import issue
from vantage.collector.metrics.service_metrics import CollectorMetrics
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.server import build_server
from vantage.collector.storage.records import CredentialRole, EnrollmentToken, StoredEvent, TargetRecord
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

    def __init__(self, db: Path, *, revise_window_s: float = 7 * 86400.0) -> None:
        self.clock = Clock()
        storage = SqliteStorage(db)
        self.metrics = CollectorMetrics(CollectorRegistry(), prerender_snapshots=False)
        config = CollectorConfig(collector_id="c1", round_seconds=ROUND_S, revise_window_s=revise_window_s)
        self.app = CollectorApp(storage, config, Locator(()), clock=self.clock, metrics=self.metrics)
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

    async def start(self, enrolled: tuple[dict[str, str], dict[str, str]] | None = None) -> None:
        """Serve on loopback; enroll the probes through Enroll, or take `enrolled` (ids and
        credentials of probes enrolled in the database this one was copied from)."""
        self.server, _ = build_server(self.app)
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.probes = probe_service_pb2_grpc.ProbeServiceStub(self.channel)
        self.queries = query_service_pb2_grpc.QueryServiceStub(self.channel)
        self.watcher = self.app.events.subscribe(country=CUT_COUNTRY)
        if enrolled is not None:
            self.ids, self.credentials = dict(enrolled[0]), dict(enrolled[1])
            return
        self.ids = {}
        for n, (name, (asn, country)) in enumerate((OUTSIDE | INSIDE).items()):
            self.app.storage.add_enrollment_token(EnrollmentToken(f"t{n}", _hash(f"tok{n}"), "", 0.0, 1e12))
            answer = await self.probes.Enroll(
                probe_service_pb2.EnrollRequest(enrollment_token=f"tok{n}", name=name)
            )
            self.app.storage.pin_probe(answer.probe_id, asn, country)
            self.credentials[name] = answer.credential
            self.ids[name] = answer.probe_id

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
        issue(self.app.storage, batch.measurements)  # work this collector gave the probe
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


Enrolled = tuple[Path, dict[str, str], dict[str, str]]


async def enroll_fleet(db: Path) -> Enrolled:
    """A database with the fleet enrolled through gRPC, to copy: both collectors of a comparison
    then know the same probes under the same ids."""
    h = Harness(db)
    await h.start()
    ids, credentials = dict(h.ids), dict(h.credentials)
    await h.stop()
    return db, ids, credentials


@pytest.fixture
def fleet(tmp_path: Path) -> Enrolled:
    return asyncio.run(enroll_fleet(tmp_path / "fleet.sqlite3"))


def _hash(secret: str) -> str:
    from vantage.collector.service.auth import hash_secret

    return hash_secret(secret)


async def run(
    db: Path,
    fleet: Enrolled,
    *,
    late: bool,
    late_probes: frozenset[str] = frozenset(INSIDE),
    budget_s: float | None = None,
    watch_revised: bool = False,
) -> dict[str, object]:
    """Every round's measurements; with `late`, those of `late_probes` during the cut are held
    back and uploaded after round UPLOAD_AFTER, then the collector catches up (with `budget_s`,
    a share of the recomputation per step, live rounds going on in between)."""
    shutil.copyfile(fleet[0], db)
    h = Harness(db)
    h.loop.reviser.budget_s = budget_s
    await h.start(enrolled=(fleet[1], fleet[2]))
    try:
        held_back: dict[str, list[MeasurementRow]] = {name: [] for name in late_probes}
        before_upload: list[object] = []
        timeline_during_cut = None
        during_cut_s = 0.0
        watch = h.queries.WatchEvents(query_service_pb2.WatchEventsRequest(country=CUT_COUNTRY))
        steps_to_catch_up = 0
        for offset in range(ROUNDS):
            number = FIRST_ROUND + offset
            h.clock.now = number * ROUND_S + 30
            for name, (asn, country) in (OUTSIDE | INSIDE).items():
                rows = rows_of(name, asn, country, number, offset)
                if late and name in late_probes and offset in CUT:
                    held_back[name].extend(rows)  # cut off: kept in the probe's outbox
                else:
                    await h.upload(name, rows)
            await h.close_round(number)
            if offset == CUT.start + 1:
                during_cut_s = h.clock.now + 1
                h.clock.now = during_cut_s + 1
                timeline_during_cut = await h.timeline(asn=CUT_AS)
            if late and offset == UPLOAD_AFTER:
                before_upload = [h.app.storage.as_timeline(asn, 0, 1e12) for asn in (CUT_AS, 64520)]
                for name, rows in held_back.items():  # the link is back: the outbox drains
                    await h.upload(name, rows)
                assert await h.loop.step() is None  # no new round; the revision runs
                steps_to_catch_up = 1
            elif late and offset > UPLOAD_AFTER and h.loop.reviser.job is not None:
                steps_to_catch_up += 1
        while h.loop.reviser.job is not None:  # the rounds are over; the recomputation ends
            assert await h.loop.step() is None
            steps_to_catch_up += 1
        as_of_during = await h.timeline(asn=CUT_AS, as_of=_ts(during_cut_s))
        as_of_errors = []
        for bad in (h.clock.now + 3600, FIRST_ROUND * ROUND_S):  # in the future; before the first round
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await h.timeline(asn=CUT_AS, as_of=_ts(bad))
            as_of_errors.append((refused.value.code(), refused.value.details()))
        watched = []
        if watch_revised:
            # Live events first, then the revision's; all were queued before these reads.
            for _ in range(100):
                event = await asyncio.wait_for(watch.read(), 30)
                watched.append(event)
                if event.change == query_service_pb2.EVENT_CHANGE_REVISED:
                    break
        watch.cancel()
        return {
            "as": await h.timeline(asn=CUT_AS),
            "country": await h.timeline(country=CUT_COUNTRY),
            "during_cut": timeline_during_cut,
            "as_of_during_cut": as_of_during,
            "as_of_errors": as_of_errors,
            "before_upload": before_upload,
            "stored": [h.app.storage.as_timeline(asn, 0, 1e12) for asn in (CUT_AS, 64520)],
            "events": h.app.storage.list_events(),
            "watched": watched,
            "state": h.app.storage.load_engine_rows(),
            "ids": dict(h.ids),
            "steps": steps_to_catch_up,
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
        event.summary = without_inside_view(event.summary)
    return out


def without_inside_view(summary: str) -> str:
    """A summary without the inside view's sentence: a mark of the revision that brought the
    inside probes' late results (collector/verdict/inside_view.py), like the points' marks."""
    for verb in ("Confirmed", "Partly confirmed", "Contradicted"):
        summary = summary.split(f" {verb} from inside: ")[0]
    return summary


def unmarked_events(events: object) -> list[StoredEvent]:
    assert isinstance(events, list)
    out = []
    for e in events:
        message = query_service_pb2.Event.FromString(e.payload)
        message.summary = without_inside_view(message.summary)
        out.append(dataclasses.replace(e, payload=message.SerializeToString()))
    return out


def named(run_result: dict[str, object], value: object) -> str:
    """`value` (stored records, messages) as text, probe ids replaced by names (for readable
    failures; both collectors know the probes under the same ids)."""
    text = repr(value) if not hasattr(value, "SerializeToString") else repr(value.SerializeToString())
    ids = run_result["ids"]
    assert isinstance(ids, dict)
    for name, probe_id in ids.items():
        text = text.replace(probe_id, name)
    return text


def test_late_results_give_the_timeline_on_time_results_give(tmp_path: Path, fleet: Enrolled) -> None:
    on_time = asyncio.run(run(tmp_path / "on-time.sqlite3", fleet, late=False))
    late = asyncio.run(run(tmp_path / "late.sqlite3", fleet, late=True))
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
    assert named(on_time, unmarked_events(on_time["events"])) == named(late, unmarked_events(late["events"]))
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
    # The outage's evidence says what the inside probes measured (the on-time run's does not:
    # nothing came home late).
    [outage] = [e for e in late_as.events if e.kind == query_service_pb2.EVENT_KIND_OUTAGE]
    assert (
        "Confirmed from inside: 2 probes in AS64500 measured 3 targets outside the country, 0 answered, "
        in outage.summary
    )
    assert not any("from inside:" in e.summary for e in on_as.events)


def test_as_of_shows_what_was_known_then(tmp_path: Path, fleet: Enrolled) -> None:
    late = asyncio.run(run(tmp_path / "late.sqlite3", fleet, late=True))
    then, as_of = late["during_cut"], late["as_of_during_cut"]
    assert isinstance(then, query_service_pb2.Timeline) and isinstance(as_of, query_service_pb2.Timeline)
    assert len(then.points) == CUT.start + 2
    assert list(as_of.points) == list(then.points)  # the first view, not the revised one
    # Events too, as they were then (schema 7): the outage open, without the inside view the
    # revision added; it has ended and says so now.
    assert then.events and list(as_of.events) == list(then.events)
    assert all(e.state == query_service_pb2.EVENT_STATE_OPEN for e in as_of.events)
    assert any("from inside:" in e.summary for e in late["as"].events)  # type: ignore[attr-defined]
    now = late["as"]
    assert isinstance(now, query_service_pb2.Timeline)
    assert [p.revision for p in now.points[: CUT.start + 2]] != [p.revision for p in as_of.points]
    [(future_code, future), (early_code, early)] = late["as_of_errors"]  # type: ignore[misc]
    assert future_code == early_code == grpc.StatusCode.INVALID_ARGUMENT
    assert "is in the future" in future
    assert "before the first round was computed" in early


def test_a_revised_round_is_marked_in_the_timeline_table() -> None:
    from vantage.collector.cli.tables import timeline_rows

    plain = query_service_pb2.TimelinePoint(round=1, status=query_service_pb2.STATUS_UP)
    header, _ = timeline_rows([plain])
    assert "REVISED" not in header  # the usual table stays as it was
    revised = query_service_pb2.TimelinePoint(round=2, revision=1, late_results=12, late_probes=2)
    revised.revised_at.FromSeconds(1_767_601_860)
    header, rows = timeline_rows([plain, revised])
    assert header[-1] == "REVISED"
    assert rows[0][-1] == ""
    assert rows[1][-1].startswith("rev 1 at 2026-01-05") and rows[1][-1].endswith("12 late from 2 probes")


def test_a_recomputation_in_shares_lets_live_rounds_go_on_and_events_are_revised(
    tmp_path: Path, fleet: Enrolled
) -> None:
    """Two of the three outside probes upload the cut late too: on time, the cut AS's outage has
    one vantage point; the revision adds two. One round per step: the live rounds go on while the
    recomputation catches up, and the result is the on-time one."""
    late_probes = frozenset(INSIDE) | {"out-b", "out-c"}
    on_time = asyncio.run(run(tmp_path / "on-time.sqlite3", fleet, late=False))
    late = asyncio.run(
        run(
            tmp_path / "late.sqlite3",
            fleet,
            late=True,
            late_probes=late_probes,
            budget_s=0.0,
            watch_revised=True,
        )
    )
    steps = late["steps"]
    assert isinstance(steps, int) and steps > 1  # it took several steps, live rounds in between
    on_as, late_as = on_time["as"], late["as"]
    assert isinstance(on_as, query_service_pb2.Timeline) and isinstance(late_as, query_service_pb2.Timeline)
    assert named(on_time, unmarked(on_as)) == named(late, unmarked(late_as))
    assert named(on_time, on_time["stored"]) == named(late, late["stored"])
    assert named(on_time, unmarked_events(on_time["events"])) == named(late, unmarked_events(late["events"]))
    assert named(on_time, on_time["state"]) == named(late, late["state"])
    watched = late["watched"]
    assert isinstance(watched, list) and watched
    revised = watched[-1]
    assert revised.change == query_service_pb2.EVENT_CHANGE_REVISED and revised.revised_round > 0
    assert revised.asn == CUT_AS
    # Updated, never duplicated: one stored event per id, the revised one among them.
    events = late["events"]
    assert isinstance(events, list)
    assert revised.id in {e.event_id for e in events}
    assert len({e.event_id for e in events}) == len(events)


async def refused_late_results(
    db: Path, fleet: Enrolled
) -> tuple[dict[str, float], list[int], int, list[tuple[int, int]]]:
    shutil.copyfile(fleet[0], db)
    h = Harness(db, revise_window_s=5 * ROUND_S)
    await h.start(enrolled=(fleet[1], fleet[2]))
    try:
        for offset in range(7):
            number = FIRST_ROUND + offset
            h.clock.now = number * ROUND_S + 30
            for name, (asn, country) in OUTSIDE.items():
                await h.upload(name, rows_of(name, asn, country, number, offset))
            if 1 <= offset <= 4:
                continue  # the collector is down; back at 5, it catches up 2-4 only: 1 is never computed
            await h.close_round(number)
        # Probe in-a comes back with results of round 1 (never computed) and round 0 (older than
        # the window of 5 rounds below the latest, 6).
        acks = []
        for offset in (0, 1):
            ack = await h.upload("in-a", rows_of("in-a", CUT_AS, CUT_COUNTRY, FIRST_ROUND + offset, offset))
            assert ack.accepted == 6  # stored and counted
            acks.append((ack.unrevised_too_old, ack.unrevised_no_round))
        assert await h.loop.step() is None
        families = {f.name: f for f in h.metrics._families()}
        refused = {s.labels["reason"]: s.value for s in families["vantage_late_results_unrevised"].samples}
        revised = [r.round for r in h.app.storage.round_revisions(0, 2**62)]
        return refused, revised, h.app.storage.count_measurements(), acks
    finally:
        await h.stop()


def test_late_results_too_old_or_of_rounds_never_computed_are_stored_and_counted_but_revise_nothing(
    tmp_path: Path, fleet: Enrolled
) -> None:
    refused, revised, stored, acks = asyncio.run(refused_late_results(tmp_path / "c.sqlite3", fleet))
    # The ack says so, per batch: round 0's 6 results are too old, round 1's of no round.
    assert acks == [(6, 0), (0, 6)]
    # Round 1's on-time results from the three outside probes revise nothing either.
    assert refused == {"older than the revise window": 6.0, "round was never computed": 6.0 + 3 * 6}
    assert revised == []
    assert stored == 7 * 3 * 6 + 2 * 6


def _ts(seconds: float) -> Timestamp:
    t = Timestamp()
    t.FromSeconds(int(seconds))
    return t
