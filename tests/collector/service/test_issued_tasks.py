"""Results are believed only for work the collector gave that probe (issue 19), through gRPC on
loopback against a collector on a real SQLite file (collector/service/issued_tasks.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry

from tests.collector.issued import icmp_answer
from vantage.collector.metrics.service_metrics import CollectorMetrics
from vantage.collector.service.address_guard import AddressGuard, GuardSource
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata, hash_secret
from vantage.collector.service.config import DEFAULT_PLAN_REPEAT_S, CollectorConfig
from vantage.collector.service.issued_tasks import issued_target, refusal, repeat_rounds, unbelieved_items
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.server import build_server
from vantage.collector.storage.records import EnrollmentToken, TargetRecord
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.collector.wire.validation import RejectReason, ResultTargets
from vantage.v1 import measurement_pb2, probe_service_pb2, probe_service_pb2_grpc, query_service_pb2

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 300.0
FIRST_ROUND = 5_892_000  # a round in January 2026
TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
AS, COUNTRY = 64500, "KZ"
HONEST = {"out-a": 64601, "out-b": 64602, "out-c": 64603}
INTRUDERS = {"x-a": 64611, "x-b": 64612, "x-c": 64613}  # never ask for work
TASK_NOT_ISSUED = probe_service_pb2.REJECT_REASON_TASK_NOT_ISSUED
TASK_MISMATCH = probe_service_pb2.REJECT_REASON_TASK_MISMATCH
VICTIM_TARGET = "192.0.2.99"  # a target never given to the forging probe, in another AS
VICTIM_AS = 64510
VICTIM = TargetRecord(
    VICTIM_TARGET, VICTIM_TARGET, "address", (1,), COUNTRY, VICTIM_AS, (), "csv", VICTIM_TARGET, 0.0
)


class Clock:
    def __init__(self) -> None:
        self.now = FIRST_ROUND * ROUND_S + 5

    def __call__(self) -> float:
        return self.now


def result(
    task: probe_service_pb2.Task, probe_id: str, round_number: int, *, ok: bool, at_s: float
) -> measurement_pb2.Measurement:
    return icmp_answer(task, probe_id, round_number, answered=ok, at_s=at_s)


class Collector:
    """A collector (app + gRPC server on loopback) over `db`, with a fake clock."""

    def __init__(self, db: Path, clock: Clock, *, plan_repeat_s: float = DEFAULT_PLAN_REPEAT_S) -> None:
        self.clock = clock
        storage = SqliteStorage(db)
        self.registry = CollectorRegistry()
        self.metrics = CollectorMetrics(self.registry, prerender_snapshots=False)
        config = CollectorConfig(collector_id="c1", round_seconds=ROUND_S, plan_repeat_s=plan_repeat_s)
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

    def vantage_points(self, number: int, asn: int = AS) -> tuple[int, int] | None:
        """(status, vantage points) of the AS's verdict in round `number`, None without one."""
        stored = self.app.storage.as_timeline(asn, number * ROUND_S, (number + 1) * ROUND_S)
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
                result(
                    tasks[0],
                    probe_id,
                    number + repeat_rounds(ROUND_S, DEFAULT_PLAN_REPEAT_S) + 1,
                    ok=True,
                    at_s=at_s,
                ),
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
    icmp, tcp, http = 1, 4, 3
    issued = {
        "r10-a": issued_target(10, icmp, "t-a", "192.0.2.1"),
        "r12-b": issued_target(12, tcp, "t-b", "2001:db8:0::0:2"),
        "r12-c": issued_target(12, http, "t-c", "192.0.2.3"),
        "r12-d": issued_target(12, http, "t-d", ""),  # HTTP by host name: the probe resolves it
    }
    window = repeat_rounds(ROUND_S, DEFAULT_PLAN_REPEAT_S)
    a, b = (icmp, "t-a"), (tcp, "t-b")
    items = [  # (task id, round, canonical address, (protocol, target_id))
        ("r10-a", 10, "192.0.2.1", a),
        ("r10-a", 10 + window, "192.0.2.1", a),
        ("r10-a", 10 + window + 1, "192.0.2.1", a),  # 2: past the offline repeat
        ("r10-a", 9, "192.0.2.1", a),  # 3: before its round
        ("r12-b", 12, "2001:db8::2", b),  # the same address, canonical
        ("nope", 12, "192.0.2.1", a),  # 5: never issued
        ("", 0, "192.0.2.9", a),  # a one-off
        ("", 12, "192.0.2.1", a),  # 7: a round without a task
        ("r10-a", 10, "198.51.100.1", a),  # 8: another address
        ("r10-a", 10, "192.0.2.1", (icmp, "t-z")),  # 9: another target
        ("r10-a", 10, "192.0.2.1", (tcp, "t-a")),  # 10: another protocol
        ("r12-b", 12, "2001:db8::3", b),  # 11: another IPv6 address
        ("r12-c", 12, "198.51.100.1", (http, "t-c")),  # HTTP: a redirect's last host
        ("r12-c", 12, "192.0.2.3", (http, "t-z")),  # 13: HTTP, another target
        ("r12-d", 12, "198.51.100.1", (http, "t-d")),  # resolved by the probe
    ]
    task_ids, rounds, addresses, targets = (list(column) for column in zip(*items, strict=True))
    columns = ResultTargets(*(list(column) for column in zip(*targets, strict=True)))
    bad = unbelieved_items(task_ids, rounds, addresses, columns, issued, window)
    assert bad == [2, 3, 5, 7, 8, 9, 10, 11, 13]
    assert window == 289  # a day of 5-minute rounds, and the round itself
    why = {p: refusal(p, *items[p], issued.get(items[p][0]), window) for p in bad}
    assert {p: (r.reason, r.field) for p, r in why.items()} == {
        2: (RejectReason.TASK_NOT_ISSUED, "task_id"),
        3: (RejectReason.TASK_NOT_ISSUED, "task_id"),
        5: (RejectReason.TASK_NOT_ISSUED, "task_id"),
        7: (RejectReason.TASK_NOT_ISSUED, "task_id"),
        8: (RejectReason.TASK_MISMATCH, "target.address"),
        9: (RejectReason.TASK_MISMATCH, "target.target_id"),
        10: (RejectReason.TASK_MISMATCH, "protocol"),
        11: (RejectReason.TASK_MISMATCH, "target.address"),
        13: (RejectReason.TASK_MISMATCH, "target.target_id"),
    }
    assert (
        why[8].message == "task 'r10-a' asked for target.address '192.0.2.1', the result says '198.51.100.1'"
    )
    assert why[10].message == "task 'r10-a' asked for protocol 1, the result says 4"


def forgeries(task: probe_service_pb2.Task, victim: measurement_pb2.Target) -> list[probe_service_pb2.Task]:
    """The task with what a result says of its target changed: another target (id and address),
    only another address, another protocol."""
    other_target = probe_service_pb2.Task()
    other_target.CopyFrom(task)
    other_target.target.CopyFrom(victim)
    other_address = probe_service_pb2.Task()
    other_address.CopyFrom(task)
    other_address.target.address = victim.address
    other_protocol = probe_service_pb2.Task()
    other_protocol.CopyFrom(task)
    other_protocol.protocol = measurement_pb2.PROTOCOL_TCP
    return [other_target, other_address, other_protocol]


def test_an_issued_task_answered_about_another_target_is_refused(tmp_path: Path) -> None:
    """A probe's own task ids, its results speaking of another AS's target: each forged item is
    refused with TASK_MISMATCH and the field that differs, beside the honest ones, in memory and
    (after a restart) from storage; the round computed after them knows nothing of the victim's
    AS (the forged failure about its target would otherwise be its one vantage point)."""
    db = tmp_path / "collector.sqlite3"
    clock = Clock()
    number = FIRST_ROUND
    at_s = number * ROUND_S + 10
    victim = measurement_pb2.Target(address=VICTIM_TARGET, target_id=VICTIM_TARGET)
    expected = [
        (1, "target.target_id", f"the result says {VICTIM_TARGET!r}"),
        (2, "target.address", f"the result says {VICTIM_TARGET!r}"),
        (3, "protocol", "the result says 4"),
    ]

    async def submit_forgeries(
        collector: Collector, probe: tuple[str, str], task: probe_service_pb2.Task
    ) -> None:
        probe_id, credential = probe
        items = [result(t, probe_id, number, ok=False, at_s=at_s) for t in [task, *forgeries(task, victim)]]
        ack = await collector.submit(credential, items)
        assert ack.accepted == 1, ack
        got = [(r.index, r.reason, r.field, r.message) for r in ack.rejected]
        assert [(i, reason, field) for i, reason, field, _ in got] == [
            (i, TASK_MISMATCH, field) for i, field, _ in expected
        ]
        for (_, _, _, message), (_, _, said) in zip(got, expected, strict=True):
            assert message.startswith(f"task {task.id!r} asked for ") and message.endswith(said), message
        assert collector.app.storage.stored_measurement_ids([m.id for m in items]) == {items[0].id}
        rejected = collector.registry.get_sample_value(
            "vantage_results_rejected_total", {"reason": "task_mismatch"}
        )
        assert rejected == len(expected)

    async def before_restart() -> tuple[tuple[str, str], list[probe_service_pb2.Task]]:
        collector = Collector(db, clock)
        add_targets(collector.app.storage)  # type: ignore[arg-type]
        await collector.start()
        try:
            probe = (await collector.enroll({"p": 64601}))["p"]
            tasks = list((await collector.get_work(probe[1])).tasks)
            assert len(tasks) > 1 and VICTIM_TARGET not in {t.target.address for t in tasks}
            # Known when the round is computed (its results would be read as that AS's), not
            # when the probe got its plan (it is given no task of it).
            collector.app.storage.upsert_targets([VICTIM])
            await submit_forgeries(collector, probe, tasks[0])
            await collector.close_round(number)
            victim = collector.vantage_points(number, VICTIM_AS)
            assert victim is None or victim[1] == 0, victim
            own = collector.vantage_points(number)
            assert own is not None and own[1] == 1  # the probe's honest result only
            return probe, tasks
        finally:
            await collector.stop()

    async def after_restart(probe: tuple[str, str], task: probe_service_pb2.Task) -> None:
        collector = Collector(db, clock)  # nothing of the first one's memory: read from storage
        await collector.start()
        try:
            await submit_forgeries(collector, probe, task)
        finally:
            await collector.stop()

    probe, tasks = asyncio.run(before_restart())
    asyncio.run(after_restart(probe, tasks[1]))


def test_the_offline_repeat_window_is_the_collectors_option(tmp_path: Path) -> None:
    """--plan-repeat (CollectorConfig.plan_repeat_s): two rounds' worth believes a task's results
    up to 3 rounds after its own (the rounds it covers, and its own), not the 4th."""
    plan_repeat_s = 2 * ROUND_S
    window = repeat_rounds(ROUND_S, plan_repeat_s)
    assert window == 3

    async def run() -> probe_service_pb2.BatchAck:
        collector = Collector(tmp_path / "collector.sqlite3", Clock(), plan_repeat_s=plan_repeat_s)
        add_targets(collector.app.storage)  # type: ignore[arg-type]
        await collector.start()
        try:
            probe_id, credential = (await collector.enroll({"p": 64601}))["p"]
            (task, *_) = (await collector.get_work(credential)).tasks
            at_s = FIRST_ROUND * ROUND_S + 10
            repeated = [
                result(task, probe_id, FIRST_ROUND + n, ok=True, at_s=at_s) for n in range(window + 2)
            ]
            return await collector.submit(credential, repeated)
        finally:
            await collector.stop()

    ack = asyncio.run(run())
    assert ack.accepted == window + 1
    assert [(r.index, r.reason) for r in ack.rejected] == [(window + 1, TASK_NOT_ISSUED)]
    assert f"round {FIRST_ROUND + window + 1} is outside" in ack.rejected[0].message
