"""Protobuf at the edges only: the daemon's logic works on plain values (probe/daemon/plan.py),
converted where messages come in and go out; the plan store keeps the wire bytes and hands
back plain values."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.test_purity import WIRE, declaration, imports_of, kind_of, matches, problems, under
from vantage.kinds import Protocol
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.outbox import AsyncOutbox, open_outbox
from vantage.probe.daemon.plan import PlannedOptions, PlannedTarget, PlannedTask, request_from_task
from vantage.probe.daemon.planstore import PLAN_FILE, load_plan, save_plan
from vantage.probe.daemon.policy import build_policy
from vantage.probe.daemon.round_tasks import ResultWriter, RoundContext, run_round
from vantage.probe.daemon.wire import plan_from_proto, planned_task, received_plan
from vantage.probe.engine import Engine
from vantage.v1 import measurement_pb2, probe_service_pb2

# The daemon's logic; which modules may handle protobuf is declared once, in pyproject.toml's
# [tool.vantage.purity] (wire and wire_edges), and checked for every module by tests/test_purity.py.
DAEMON_LOGIC = ("plan", "policy", "scheduler", "round_tasks", "runner", "planstore")


@pytest.mark.parametrize("name", DAEMON_LOGIC)
def test_daemon_logic_imports_no_protobuf(name: str) -> None:
    module = f"vantage.probe.daemon.{name}"
    assert not matches(module, declaration().wire_edges) and kind_of(module) != WIRE, module
    assert not problems(module), "\n".join(problems(module))
    assert not any(
        under(imported, ("vantage.v1", "google.protobuf")) for imported in imports_of(module).names
    )


def test_the_check_can_fail() -> None:
    # The daemon's wire edge does import protobuf, and is declared to.
    assert any(under(imported, ("vantage.v1",)) for imported in imports_of("vantage.probe.daemon.wire").names)
    assert kind_of("vantage.probe.daemon.wire") == WIRE


def _work_plan() -> probe_service_pb2.WorkPlan:
    plan = probe_service_pb2.WorkPlan(round=7, probe_asn=64500, probe_country="NL")
    plan.round_start.FromSeconds(1_000_000)
    plan.round_length.FromSeconds(300)
    plan.server_time.FromSeconds(1_000_010)
    plan.clock_skew_tolerance.FromSeconds(5)
    plan.tasks.add(
        id="dns-1",
        protocol=measurement_pb2.PROTOCOL_DNS,
        target=measurement_pb2.Target(address="192.0.2.53", port=5353, target_id="tg-1"),
        options=probe_service_pb2.TaskOptions(query_name="x.test", query_type="a", expected=["192.0.2.9"]),
    )
    plan.tasks.add(
        id="http-1",
        protocol=measurement_pb2.PROTOCOL_HTTP,
        target=measurement_pb2.Target(name="www.example.test", url="https://www.example.test/"),
        options=probe_service_pb2.TaskOptions(timeout_ms=700, url="https://www.example.test/a"),
    )
    plan.tasks.add(id="future", protocol=99, target=measurement_pb2.Target(address="192.0.2.1"))  # type: ignore[arg-type]
    return plan


def test_a_work_plan_converts_once_into_plain_values() -> None:
    plan = plan_from_proto(_work_plan(), received_at_unix_s=1_000_004.0)
    assert (plan.timing.round, plan.timing.round_length_s) == (7, 300.0)
    assert plan.clock_offset_s == 6.0 and plan.timing.round_start_s == 999_994.0
    assert (plan.clock_skew_tolerance_s, plan.probe_asn, plan.probe_country) == (5.0, 64500, "NL")
    dns, http, future = plan.tasks
    assert dns == PlannedTask(
        id="dns-1",
        protocol=Protocol.DNS,
        target=PlannedTarget(address="192.0.2.53", port=5353, target_id="tg-1"),
        options=PlannedOptions(query_name="x.test", query_type="a", expected=("192.0.2.9",)),
    )
    assert http.target.name == "www.example.test" and http.options == PlannedOptions(
        timeout_ms=700, url="https://www.example.test/a"
    )
    assert future.protocol is Protocol.UNSPECIFIED
    with pytest.raises(ValueError, match="future: unknown protocol"):
        request_from_task(future)


def test_the_plan_store_keeps_the_wire_bytes_and_loads_plain_values(tmp_path: Path) -> None:
    assert load_plan(tmp_path) is None
    received, encoded = received_plan(_work_plan(), 1_000_004.0)
    save_plan(tmp_path, encoded, 1_000_004.0)
    stored = (tmp_path / PLAN_FILE).read_bytes()
    assert probe_service_pb2.WorkPlan.FromString(stored[8:]) == _work_plan()  # the on-disk format
    assert struct.unpack(">d", stored[:8]) == (1_000_004.0,)
    assert load_plan(tmp_path) == received
    (tmp_path / PLAN_FILE).write_bytes(stored[:8] + b"\xff\xff")
    assert load_plan(tmp_path) is None
    no_length = probe_service_pb2.WorkPlan(round=3)
    save_plan(tmp_path, no_length.SerializeToString(), 1.0)
    assert load_plan(tmp_path) is None  # unusable: no round length


def test_an_unknown_protocol_is_reported_and_the_round_goes_on(tmp_path: Path) -> None:
    tasks = [
        planned_task(probe_service_pb2.Task(id="future", protocol=99)),  # type: ignore[arg-type]
        planned_task(
            probe_service_pb2.Task(
                id="no-port",
                protocol=measurement_pb2.PROTOCOL_TCP,
                target=measurement_pb2.Target(address="127.0.0.1"),
            )
        ),
    ]
    metrics = ProbeMetrics(CollectorRegistry())

    async def scenario() -> list[measurement_pb2.Measurement]:
        outbox = AsyncOutbox(open_outbox(tmp_path, 100))
        writer = ResultWriter(outbox, metrics, asyncio.Event())
        written = await run_round(
            tasks,
            RoundContext("p", 1, "test"),
            engine=Engine(),
            policy=build_policy(allow_ranges=["127.0.0.1/32"]),
            writer=writer,
            metrics=metrics,
            stop=asyncio.Event(),
        )
        assert written == 2
        rows = await outbox.read_after(0, 10)
        await outbox.close()
        return [measurement_pb2.Measurement.FromString(row.payload) for row in rows]

    by_task = {m.task_id: m for m in asyncio.run(scenario())}
    assert by_task["future"].outcome == measurement_pb2.OUTCOME_FAILURE
    assert "unknown protocol" in by_task["future"].failure.detail
    assert by_task["no-port"].outcome == measurement_pb2.OUTCOME_FAILURE
