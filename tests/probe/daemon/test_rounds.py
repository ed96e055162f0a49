"""One round through the real engine into a real outbox: TCP to a loopback listener,
refused and unrunnable tasks reported, never skipped."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.outbox import AsyncOutbox, open_outbox
from vantage.probe.daemon.plan import PlannedTask
from vantage.probe.daemon.policy import address_guard, build_policy
from vantage.probe.daemon.round_tasks import ResultWriter, RoundContext, run_round, vet_task
from vantage.probe.daemon.wire import measurement_id, planned_task
from vantage.probe.engine import Engine, EngineLimits
from vantage.v1 import measurement_pb2, probe_service_pb2


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


def tcp_task(task_id: str, address: str, port: int) -> PlannedTask:
    return planned_task(
        probe_service_pb2.Task(
            id=task_id,
            protocol=measurement_pb2.PROTOCOL_TCP,
            target=measurement_pb2.Target(address=address, port=port, target_id=f"t-{task_id}"),
        )
    )


def test_round_writes_every_task_once(tmp_path: Path, listener: int) -> None:
    # Only 127.0.0.1 is opened: 127.0.0.2 stays refused (and is loopback anyway,
    # so even a broken policy could not send a packet off this machine).
    policy = build_policy(allow_ranges=["127.0.0.1/32"])
    tasks = [tcp_task(f"ok-{n}", "127.0.0.1", listener) for n in range(5)]
    tasks.append(tcp_task("refused", "127.0.0.2", listener))
    tasks.append(
        planned_task(probe_service_pb2.Task(id="bad", protocol=measurement_pb2.PROTOCOL_UNSPECIFIED))
    )
    registry = CollectorRegistry()
    metrics = ProbeMetrics(registry)

    async def scenario() -> list[measurement_pb2.Measurement]:
        outbox = AsyncOutbox(open_outbox(tmp_path, 1000))
        writer = ResultWriter(outbox, metrics, asyncio.Event())
        written = await run_round(
            tasks,
            RoundContext("probe-1", 42, "test"),
            engine=Engine(EngineLimits(max_rate_per_s=1000, max_concurrency=8)),
            policy=policy,
            writer=writer,
            metrics=metrics,
            stop=asyncio.Event(),
        )
        assert written == len(tasks)
        rows = await outbox.read_after(0, 100)
        await outbox.close()
        return [measurement_pb2.Measurement.FromString(row.payload) for row in rows]

    by_task = {m.task_id: m for m in asyncio.run(scenario())}
    assert set(by_task) == {task.id for task in tasks}
    for n in range(5):
        measured = by_task[f"ok-{n}"]
        assert measured.outcome == measurement_pb2.OUTCOME_OK
        index = [task.id for task in tasks].index(f"ok-{n}")
        assert measured.id == measurement_id("probe-1", 42, f"ok-{n}", index) and measured.round == 42
    refused = by_task["refused"]
    assert refused.outcome == measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    assert refused.failure.kind == "refused_by_policy"
    assert refused.failure.operation == measurement_pb2.OPERATION_POLICY
    assert "127.0.0.0/8" in refused.failure.detail
    assert refused.target.target_id == "t-refused"
    assert by_task["bad"].outcome == measurement_pb2.OUTCOME_FAILURE
    assert by_task["bad"].failure.kind == "unknown_failure"
    sample = registry.get_sample_value
    assert sample("vantage_probe_measurements_total", {"protocol": "tcp", "outcome": "ok"}) == 5
    assert sample("vantage_probe_failures_total", {"failure": "refused_by_policy"}) == 1
    assert sample("vantage_probe_refused_tasks_total", {"reason": "loopback"}) == 1


def test_a_name_resolving_to_a_refused_address_is_refused(tmp_path: Path) -> None:
    # An HTTP task's host is resolved by the engine (its own DNS step; `localhost` is the
    # loopback without asking DNS), and the policy guards every address it finds: refused as
    # loopback, reported and counted as a vetted task is. Nothing is sent to it.
    task = planned_task(
        probe_service_pb2.Task(
            id="h",
            protocol=measurement_pb2.PROTOCOL_HTTP,
            options=probe_service_pb2.TaskOptions(url="http://localhost:8080/"),
        )
    )
    policy = build_policy()
    vetted, refusal = asyncio.run(vet_task(task, policy))
    assert refusal is None and vetted == task  # not pinned: the engine resolves
    registry = CollectorRegistry()
    metrics = ProbeMetrics(registry)

    async def scenario() -> measurement_pb2.Measurement:
        outbox = AsyncOutbox(open_outbox(tmp_path, 1000))
        await run_round(
            [task],
            RoundContext("probe-1", 42, "test"),
            engine=Engine(EngineLimits(address_guard=address_guard(policy))),
            policy=policy,
            writer=ResultWriter(outbox, metrics, asyncio.Event()),
            metrics=metrics,
            stop=asyncio.Event(),
        )
        (row,) = await outbox.read_after(0, 10)
        await outbox.close()
        return measurement_pb2.Measurement.FromString(row.payload)

    refused = asyncio.run(scenario())
    assert refused.outcome == measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    assert refused.failure.kind == "refused_by_policy" and "(loopback)" in refused.failure.detail
    assert registry.get_sample_value("vantage_probe_refused_tasks_total", {"reason": "loopback"}) == 1
    opened = build_policy(allow_ranges=["127.0.0.0/8", "::1/128"])
    vetted, refusal = asyncio.run(vet_task(task, opened))
    assert refusal is None and vetted.options.url == "http://localhost:8080/"  # Host and SNI keep the name


def trace_task(task_id: str, address: str, **options: object) -> PlannedTask:
    return planned_task(
        probe_service_pb2.Task(
            id=task_id,
            protocol=measurement_pb2.PROTOCOL_TRACEROUTE,
            target=measurement_pb2.Target(address=address, target_id=f"t-{task_id}"),
            options=probe_service_pb2.TaskOptions(**options),  # type: ignore[arg-type]
        )
    )


def test_traceroute_tasks_become_requests_and_pay_for_their_packets() -> None:
    from vantage.probe.daemon.plan import request_from_task, task_packets
    from vantage.probe.engine.model import TracerouteOptions

    task = trace_task("tr", "192.0.2.9", trace_method="tcp", max_ttl=12, probes_per_hop=2, timeout_ms=500)
    request = request_from_task(task)
    assert request.options == TracerouteOptions(method="tcp", max_ttl=12, probes_per_hop=2, timeout_ms=500.0)
    assert request.options.destination_port == 80
    assert task_packets(task) == 24  # the rate cap covers every probe a trace may send
    assert task_packets(trace_task("d", "192.0.2.9")) == 90  # 30 hops x 3 probes by default
    with pytest.raises(ValueError, match="trace method"):
        request_from_task(trace_task("bad", "192.0.2.9", trace_method="sctp"))


def test_traceroute_tasks_are_refused_and_reported_like_any_other(tmp_path: Path) -> None:
    tasks = [trace_task("refused", "198.18.100.1")]
    registry = CollectorRegistry()
    metrics = ProbeMetrics(registry)

    async def scenario() -> list[measurement_pb2.Measurement]:
        outbox = AsyncOutbox(open_outbox(tmp_path, 1000))
        writer = ResultWriter(outbox, metrics, asyncio.Event())
        await run_round(
            tasks,
            RoundContext("probe-1", 42, "test"),
            engine=Engine(EngineLimits()),
            policy=build_policy(),  # 198.18.0.0/15 refused: nothing is sent
            writer=writer,
            metrics=metrics,
            stop=asyncio.Event(),
        )
        rows = await outbox.read_after(0, 100)
        await outbox.close()
        return [measurement_pb2.Measurement.FromString(row.payload) for row in rows]

    by_task = {m.task_id: m for m in asyncio.run(scenario())}
    assert by_task["refused"].outcome == measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    assert by_task["refused"].protocol == measurement_pb2.PROTOCOL_TRACEROUTE
    assert "198.18.0.0/15" in by_task["refused"].failure.detail
    sample = registry.get_sample_value
    assert sample("vantage_probe_refused_tasks_total", {"reason": "benchmarking"}) == 1
