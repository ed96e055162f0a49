"""Traceroutes through the collector: scheduled by GetWork's planner, read by the round, placed
in the verdict (real SQLite, the real round step and IP->AS table; the clock is injected).

Three probes (AS64601-64603) trace AS64500's target through AS1299 every round; AS64500's
targets stop answering from round 5 on and the traces stop at AS1299's last router: the stored
verdict, its evidence sentence, the event and `vantage status --asn`'s text name the border.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from tests.collector.batches import MeasurementRow, batch_of
from vantage.collector.cli.queries import _print_evidence
from vantage.collector.service.address_guard import AddressGuard, GuardSource
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata, hash_secret
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.server import build_server
from vantage.collector.service.work import WorkPlanner
from vantage.collector.storage.records import (
    EnrollmentToken,
    ProbeRecord,
    ResultBatchRecord,
    TargetRecord,
    TokenStatus,
    measurement_id_bytes,
)
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.kinds import Outcome, Protocol
from vantage.probe.convert import result_to_proto
from vantage.probe.daemon import wire
from vantage.probe.engine.model import MeasurementResult, TraceHop, TraceReply, TracerouteDetails
from vantage.v1 import measurement_pb2, probe_service_pb2, probe_service_pb2_grpc, query_service_pb2

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
PROBES = {"p-a": (64601, "DE"), "p-b": (64602, "FR"), "p-c": (64603, "SE")}
DATASET = (
    "192.0.2.0\t192.0.2.255\t64500\tKZ\tKZ Example Telecom\n"
    "198.51.100.0\t198.51.100.255\t64520\tNL\tNL Example Hosting\n"
    "203.0.113.0\t203.0.113.127\t1299\tSE\tTransit Example\n"
)
PATH_BEFORE = ("203.0.113.1", "203.0.113.2", "192.0.2.254", "192.0.2.1")
OUTAGE_FROM = 5
CREDENTIAL = "vpc_test_{}"
ROUNDS = 8


class Clock:
    def __init__(self) -> None:
        self.now = FIRST_ROUND * ROUND_S

    def __call__(self) -> float:
        return self.now


def setup_app(tmp_path: Path, *, traceroutes: bool = False) -> tuple[CollectorApp, Clock]:
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET, encoding="utf-8")
    storage = SqliteStorage(tmp_path / "c.sqlite3")
    clock = Clock()
    config = CollectorConfig(collector_id="test", round_seconds=ROUND_S, traceroutes=traceroutes)
    # Documentation addresses stand in for real ones: the address guard opens them (nothing is sent).
    guard = AddressGuard(GuardSource(allow_ranges=("192.0.2.0/24", "198.51.100.0/24")))
    app = CollectorApp(storage, config, Locator([dataset]), clock=clock, guard=guard)
    for n, (probe_id, (asn, country)) in enumerate(PROBES.items()):
        storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        record = ProbeRecord(
            probe_id, probe_id, hash_secret(CREDENTIAL.format(probe_id)), clock.now, pinned_asn=asn,
            pinned_country=country,
        )  # fmt: skip
        record = dataclasses.replace(record, capability_icmp=True)
        assert storage.enroll_probe(f"h{n}", record, clock.now) is TokenStatus.OK
    storage.upsert_targets(
        [
            TargetRecord(address, address, "address", (1,), country, asn, (), "csv", address, 0.0)
            for targets, asn, country in ((KZ_TARGETS, 64500, "KZ"), (NL_TARGETS, 64520, "NL"))
            for address in targets
        ]
    )
    if traceroutes:  # as their GetWork says (ProbeCapabilities.raw_sockets)
        app.raw_socket_probes = frozenset(PROBES)
    return app, clock


def trace_measurement(probe_id: str, round_number: int, reached: bool) -> measurement_pb2.Measurement:
    path = PATH_BEFORE if reached else PATH_BEFORE[:2]
    hops = tuple(
        TraceHop(ttl, (TraceReply(False, a, 1.0 * ttl, 11, 0, 1, 64 - ttl),)) for ttl, a in enumerate(path, 1)
    )
    details = TracerouteDetails("icmp", 0, 1, 30, 1, hops, reached, "completed" if reached else "gap_limit")
    result = MeasurementResult(
        key="k",
        protocol=Protocol.TRACEROUTE,
        address=KZ_TARGETS[0],
        started_at=datetime.fromtimestamp(round_number * ROUND_S + 15, UTC),
        duration_ms=50.0,
        outcome=Outcome.OK if reached else Outcome.FAILURE,
        details=details,
        target_id=KZ_TARGETS[0],
        address_family=4,
    )
    return result_to_proto(result, probe_id=probe_id, measurement_id=str(uuid.uuid4()), round=round_number)


def trace_batch(probe_id: str, asn: int, round_number: int, reached: bool) -> ResultBatchRecord:
    m = trace_measurement(probe_id, round_number, reached)
    at = round_number * ROUND_S
    return ResultBatchRecord(
        probe_id=probe_id, probe_asn=asn, probe_country="DE", received_at_unix_s=at + 20,
        first_started_at_unix_s=at + 15, last_started_at_unix_s=at + 15, rounds=(round_number,),
        measurement_ids=measurement_id_bytes(m.id), target_asns=(64500).to_bytes(4, "little"),
        payload=probe_service_pb2.ResultBatch(batch_id="t", measurements=[m]).SerializeToString(),
    )  # fmt: skip


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
        app.storage.ingest(trace_batch(probe_id, asn, round_number, reached=not kz_down))


async def run_rounds(app: CollectorApp, clock: Clock) -> None:
    loop = RoundLoop(app)
    for offset in range(ROUNDS):
        number = FIRST_ROUND + offset
        submit_round(app, number, kz_down=offset >= OUTAGE_FROM)
        clock.now = (number + 1.2) * ROUND_S
        assert await loop.step() is not None


def test_the_verdict_says_where_the_paths_stop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app, clock = setup_app(tmp_path)
    try:
        asyncio.run(run_rounds(app, clock))
        latest = app.storage.latest_as_verdict(64500)
        assert latest is not None
        status = query_service_pb2.AsStatus.FromString(latest.payload)
        assert status.status == query_service_pb2.STATUS_DOWN
        path = status.evidence.path
        assert (path.place, path.stop_asn, path.next_asn) == ("border", 1299, 64500)
        assert list(path.agreeing_asns) == [64601, 64602, 64603] and path.stop_address == "203.0.113.2"
        sentence = (
            "Paths from 3 vantage points in 3 ASes stop at the last hop of AS1299 before AS64500 "
            "(203.0.113.2); before the event they continued into AS64500: a cut at the border of AS64500."
        )
        assert status.evidence.summary.endswith(sentence)
        control = app.storage.latest_as_verdict(64520)
        assert control is not None
        assert not query_service_pb2.AsStatus.FromString(control.payload).evidence.HasField("path")
        events = [query_service_pb2.Event.FromString(e.payload) for e in app.storage.list_events(asn=64500)]
        assert events and all(sentence in e.summary for e in events)  # what `vantage timeline` prints
        _print_evidence(status)
        assert "where the paths stop (border): paths from 3 vantage points" in capsys.readouterr().out
        # A traceroute never votes: the verdict counts the ICMP measurements only.
        assert {p.protocol for p in status.evidence.protocols} == {measurement_pb2.PROTOCOL_ICMP}
    finally:
        app.close()
        app.storage.close()


def test_getwork_schedules_traces_only_when_asked(tmp_path: Path) -> None:
    app, clock = setup_app(tmp_path, traceroutes=True)
    (tmp_path / "off").mkdir()
    off, _ = setup_app(tmp_path / "off")
    try:
        asyncio.run(run_rounds(app, clock))  # AS64500 is DOWN now
        number = FIRST_ROUND + ROUNDS
        planned = {
            probe_id: WorkPlanner(app).tasks_for(record, number)
            for probe_id in PROBES
            if (record := app.storage.get_probe(probe_id)) is not None
        }
        traces = [
            t
            for tasks in planned.values()
            for t in tasks
            if t.protocol == measurement_pb2.PROTOCOL_TRACEROUTE
        ]
        kz = [t for t in traces if t.target.address in KZ_TARGETS]
        assert len(kz) == 3  # on demand, from every probe (3 distinct ASes, fewer than K = 5)
        off_probe = off.storage.get_probe("p-a")
        assert off_probe is not None
        assert all(
            t.protocol != measurement_pb2.PROTOCOL_TRACEROUTE
            for t in WorkPlanner(off).tasks_for(off_probe, number)
        )
    finally:
        for each in (app, off):
            each.close()
            each.storage.close()


def test_traces_go_only_to_probes_that_report_raw_sockets(tmp_path: Path) -> None:
    """Over real gRPC: GetWork's capabilities (as the probe daemon builds them) decide who traces."""
    assert CollectorConfig(collector_id="default", round_seconds=ROUND_S).traceroutes  # on by default
    app, clock = setup_app(tmp_path, traceroutes=True)
    app.raw_socket_probes = frozenset()  # nobody has said anything yet: GetWork says it
    raw = {"p-a": True, "p-b": False, "p-c": True}

    async def plans() -> dict[str, list[probe_service_pb2.Task]]:
        await run_rounds(app, clock)  # AS64500 is DOWN now: traced on demand
        server, _ = build_server(app)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
                answers = {}
                for probe_id, can in raw.items():
                    request = probe_service_pb2.GetWorkRequest(
                        capabilities=wire.capabilities(icmp=True, ipv6=False, raw_sockets=can),
                        software_version="test",
                    )
                    metadata = bearer_metadata(CREDENTIAL.format(probe_id))
                    plan = await stub.GetWork(request, metadata=metadata, timeout=30)
                    answers[probe_id] = list(plan.tasks)
                return answers
        finally:
            await server.stop(None)

    try:
        planned = asyncio.run(plans())
        tracing = {
            probe_id
            for probe_id, tasks in planned.items()
            if any(t.protocol == measurement_pb2.PROTOCOL_TRACEROUTE for t in tasks)
        }
        assert tracing == {"p-a", "p-c"}
        assert all(planned[probe_id] for probe_id in raw)  # p-b still measures, it only does not trace
    finally:
        app.close()
        app.storage.close()
