"""Results are believed only for work the collector gave that probe (issue 19), through gRPC on
loopback against a collector on a real SQLite file (collector/service/issued_tasks.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry

from vantage.collector.metrics.service_metrics import CollectorMetrics
from vantage.collector.service.address_guard import AddressGuard, GuardSource
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata, hash_secret
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.issued_tasks import repeat_rounds, unbelieved_items
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.server import build_server
from vantage.collector.storage.records import EnrollmentToken, TargetRecord
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import measurement_pb2, probe_service_pb2, probe_service_pb2_grpc, query_service_pb2

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000  # a round in January 2026
TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
AS, COUNTRY = 64500, "KZ"
HONEST = {"out-a": 64601, "out-b": 64602, "out-c": 64603}
INTRUDERS = {"x-a": 64611, "x-b": 64612, "x-c": 64613}  # never ask for work
TASK_NOT_ISSUED = probe_service_pb2.REJECT_REASON_TASK_NOT_ISSUED


class Clock:
    def __init__(self) -> None:
        self.now = FIRST_ROUND * ROUND_S + 5

    def __call__(self) -> float:
        return self.now


def result(
    task: probe_service_pb2.Task, probe_id: str, round_number: int, *, ok: bool, at_s: float
) -> measurement_pb2.Measurement:
    m = measurement_pb2.Measurement(
        id=str(uuid.uuid4()),
        probe_id=probe_id,
        target=task.target,
        protocol=task.protocol,
        outcome=measurement_pb2.OUTCOME_OK if ok else measurement_pb2.OUTCOME_FAILURE,
        task_id=task.id,
        round=round_number,
        address_family=4,
    )
    m.started_at.FromNanoseconds(int(at_s * 1e9))
    m.icmp.sent, m.icmp.received = 3, 3 if ok else 0
    if ok:
        m.icmp.avg_rtt_ms = 20.0
    else:
        m.failure.kind = "generic_timeout_error"
        m.failure.operation = measurement_pb2.OPERATION_ICMP_ECHO
    return m


class Collector:
    """A collector (app + gRPC server on loopback) over `db`, with a fake clock."""

    def __init__(self, db: Path, clock: Clock) -> None:
        self.clock = clock
        storage = SqliteStorage(db)
        self.registry = CollectorRegistry()
        self.metrics = CollectorMetrics(self.registry, prerender_snapshots=False)
        config = CollectorConfig(collector_id="c1", round_seconds=ROUND_S)
        guard = AddressGuard(GuardSource(allow_ranges=("192.0.2.0/24",)))
        self.app = CollectorApp(storage, config, Locator(()), clock=clock, metrics=self.metrics, guard=guard)
        self.loop = RoundLoop(self.app)

    async def start(self) -> None:
        self.server, _ = build_server(self.app)
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = probe_service_pb2_grpc.ProbeServiceStub(self.channel)

    async def stop(self) -> None:
        await self.channel.close()
        await self.server.stop(None)
        self.app.close()
        self.app.storage.close()

    async def enroll(self, names: dict[str, int]) -> dict[str, tuple[str, str]]:
        """name → (probe id, credential), each probe pinned to its AS."""
        enrolled = {}
        for name, asn in names.items():
            self.app.storage.add_enrollment_token(EnrollmentToken(name, hash_secret(name), "", 0.0, 1e12))
            answer = await self.stub.Enroll(probe_service_pb2.EnrollRequest(enrollment_token=name, name=name))
            self.app.storage.pin_probe(answer.probe_id, asn, "DE")
            enrolled[name] = (answer.probe_id, answer.credential)
        return enrolled

    async def get_work(self, credential: str) -> probe_service_pb2.WorkPlan:
        request = probe_service_pb2.GetWorkRequest(
            capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)
        )
        return await self.stub.GetWork(request, metadata=bearer_metadata(credential))

    async def submit(
        self, credential: str, items: list[measurement_pb2.Measurement]
    ) -> probe_service_pb2.BatchAck:
        call = self.stub.SubmitResults(metadata=bearer_metadata(credential))
        await call.write(probe_service_pb2.ResultBatch(batch_id=str(uuid.uuid4()), measurements=items))
        await call.done_writing()
        (ack,) = [ack async for ack in call]
        return ack

    async def close_round(self, number: int) -> None:
        self.clock.now = (number + 1.2) * ROUND_S
        computed = await self.loop.step()
        assert computed is not None and computed.number == number

    def vantage_points(self, number: int) -> tuple[int, int] | None:
        """(status, vantage points) of the AS's verdict in round `number`, None without one."""
        stored = self.app.storage.as_timeline(AS, number * ROUND_S, (number + 1) * ROUND_S)
        found = [v for v in stored if v.round == number]
        if not found:
            return None
        (verdict,) = found
        return int(verdict.status), query_service_pb2.AsStatus.FromString(
            verdict.payload
        ).evidence.vantage_points


def add_targets(storage: SqliteStorage) -> None:
    storage.upsert_targets(
        [TargetRecord(a, a, "address", (1,), COUNTRY, AS, (), "csv", a, 0.0) for a in TARGETS]
    )


async def one_round(
    collector: Collector,
    number: int,
    honest: dict[str, tuple[str, str]],
    intruders: dict[str, tuple[str, str]],
    stolen: list[probe_service_pb2.Task],
) -> list[probe_service_pb2.BatchAck]:
    """The honest probes get work and answer every task (all OK); the intruders, who never asked,
    send failures for the AS's targets: tasks they invent, tasks given to an honest probe (this
    round's or an earlier one's, in `stolen`), no task at all. Returns the intruders' acks."""
    collector.clock.now = number * ROUND_S + 5
    at_s = number * ROUND_S + 10
    for probe_id, credential in honest.values():
        plan = await collector.get_work(credential)
        assert plan.round == number and plan.tasks
        stolen.extend(plan.tasks)
        ack = await collector.submit(
            credential, [result(t, probe_id, number, ok=True, at_s=at_s) for t in plan.tasks]
        )
        assert ack.accepted == len(plan.tasks) and not ack.rejected
    acks = []
    for probe_id, credential in intruders.values():
        invented = [
            probe_service_pb2.Task(
                id=f"r{number}-{n:016x}", target=stolen[n].target, protocol=stolen[n].protocol
            )
            for n in range(len(TARGETS))
        ]
        no_task = probe_service_pb2.Task(target=stolen[0].target, protocol=stolen[0].protocol)
        forged = [result(t, probe_id, number, ok=False, at_s=at_s) for t in [*invented, *stolen, no_task]]
        acks.append(await collector.submit(credential, forged))
    return acks


def test_a_probe_that_never_asked_for_work_cannot_move_an_as(tmp_path: Path) -> None:
    async def run(
        db: Path, *, with_intruders: bool
    ) -> tuple[list[tuple[int, int] | None], list[probe_service_pb2.BatchAck]]:
        collector = Collector(db, Clock())
        add_targets(collector.app.storage)  # type: ignore[arg-type]
        await collector.start()
        try:
            honest = await collector.enroll(HONEST)
            intruders = await collector.enroll(INTRUDERS) if with_intruders else {}
            verdicts, acks = [], []
            stolen: list[probe_service_pb2.Task] = []
            for offset in range(3):
                number = FIRST_ROUND + offset
                # In the last round the honest probes are silent: only the intruders speak of the AS.
                speaking = honest if offset < 2 else {}
                acks += await one_round(collector, number, speaking, intruders, stolen)
                await collector.close_round(number)
                verdicts.append(collector.vantage_points(number))
            rejected = collector.registry.get_sample_value(
                "vantage_results_rejected_total", {"reason": "task_not_issued"}
            )
            if with_intruders:
                assert rejected == sum(len(a.rejected) for a in acks)
            return verdicts, acks
        finally:
            await collector.stop()

    control, _ = asyncio.run(run(tmp_path / "control.sqlite3", with_intruders=False))
    attacked, acks = asyncio.run(run(tmp_path / "attacked.sqlite3", with_intruders=True))
    # The honest probes' tasks all counted; in the round they were silent nothing is known.
    assert [v[1] if v else 0 for v in control] == [3, 3, 0]
    assert attacked == control  # same status, same vantage points: the intruders moved nothing
    assert acks and all(ack.accepted == 0 and ack.duplicates == 0 for ack in acks)
    for ack in acks:
        assert {r.reason for r in ack.rejected} == {TASK_NOT_ISSUED}
        assert {r.field for r in ack.rejected} == {"task_id"}
        assert any("was not issued to this probe" in r.message for r in ack.rejected)
        assert any("names no task" in r.message for r in ack.rejected)


def test_issued_results_are_accepted_beside_unissued_ones_and_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "collector.sqlite3"
    clock = Clock()
    number = FIRST_ROUND

    async def before_restart() -> tuple[tuple[str, str], list[probe_service_pb2.Task]]:
        collector = Collector(db, clock)
        add_targets(collector.app.storage)  # type: ignore[arg-type]
        await collector.start()
        try:
            probes = await collector.enroll({"p": 64601, "q": 64602})
            (probe_id, credential), (_, other_credential) = probes["p"], probes["q"]
            plan = await collector.get_work(credential)
            other_plan = await collector.get_work(other_credential)
            tasks = list(plan.tasks)
            at_s = number * ROUND_S + 10
            # One batch: an issued task, another probe's task, and the first task again in a round
            # past the offline repeat window: only the first is believed, the rest of the batch
            # is refused item by item.
            mixed = [
                result(tasks[0], probe_id, number, ok=True, at_s=at_s),
                result(other_plan.tasks[0], probe_id, number, ok=True, at_s=at_s),
                result(tasks[0], probe_id, number + repeat_rounds(ROUND_S) + 1, ok=True, at_s=at_s),
            ]
            ack = await collector.submit(credential, mixed)
            assert ack.accepted == 1
            assert [(r.index, r.reason) for r in ack.rejected] == [(1, TASK_NOT_ISSUED), (2, TASK_NOT_ISSUED)]
            assert "outside the rounds its plan may be repeated in" in ack.rejected[1].message
            stored = collector.app.storage.stored_measurement_ids([m.id for m in mixed])
            assert stored == {mixed[0].id}
            return (probe_id, credential), tasks[1:]
        finally:
            await collector.stop()

    async def after_restart(probe: tuple[str, str], kept: list[probe_service_pb2.Task]) -> None:
        collector = Collector(db, clock)  # nothing of the first one's memory
        await collector.start()
        try:
            probe_id, credential = probe
            at_s = number * ROUND_S + 20
            # The plan's other tasks, sent after the restart, in its round and (as a probe that
            # could not reach a collector repeats its plan) two rounds later.
            items = [result(t, probe_id, number, ok=True, at_s=at_s) for t in kept]
            items.append(result(kept[0], probe_id, number + 2, ok=True, at_s=at_s))
            clock.now = (number + 2) * ROUND_S + 30
            ack = await collector.submit(credential, items)
            assert ack.accepted == len(items) and not ack.rejected
            # A one-off measurement (no task, round 0) is stored as evidence of no round.
            one_off = result(
                probe_service_pb2.Task(target=kept[0].target, protocol=kept[0].protocol),
                probe_id,
                0,
                ok=True,
                at_s=at_s,
            )
            ack = await collector.submit(credential, [one_off])
            assert ack.accepted == 1 and not ack.rejected
        finally:
            await collector.stop()

    probe, kept = asyncio.run(before_restart())
    assert kept, "the plan has more than one task"
    asyncio.run(after_restart(probe, kept))


def test_the_rule_per_item() -> None:
    issued = {"r10-a": 10, "r12-b": 12}
    window = repeat_rounds(ROUND_S)
    task_ids = ["r10-a", "r10-a", "r10-a", "r10-a", "r12-b", "nope", "", ""]
    rounds = [10, 10 + window, 10 + window + 1, 9, 12, 12, 0, 12]
    assert unbelieved_items(task_ids, rounds, issued, window) == [2, 3, 5, 7]
    assert window == 289  # a day of 5-minute rounds, and the round itself
