"""Issue 19 (7): a real probe process against a collector that sends bad tasks and huge plans.

Every target is 127.0.0.1 (opened with --allow-range) or a name that cannot be encoded: no
packet leaves loopback.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probe.daemon.fake_collector import FakeCollector, work_plan
from tests.probe.daemon.harness import Probe, Processes, poll
from vantage.v1 import measurement_pb2, probe_service_pb2


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


@pytest.fixture
def processes() -> Iterator[Processes]:
    running = Processes()
    try:
        yield running
    finally:
        running.close()


def task(task_id: str, protocol: int, **fields: object) -> probe_service_pb2.Task:
    options = probe_service_pb2.TaskOptions(**fields.pop("options", {}))  # type: ignore[arg-type]
    return probe_service_pb2.Task(
        id=task_id,
        protocol=protocol,  # type: ignore[arg-type]
        target=measurement_pb2.Target(target_id=f"t-{task_id}", **fields),  # type: ignore[arg-type]
        options=options,
    )


def start_probe(processes: Processes, tmp_path: Path, collector: FakeCollector, *extra: str) -> Probe:
    return Probe(
        processes,
        tmp_path / "probe-state",
        [collector.address],
        token="vet_fake",
        extra=["--allow-range", "127.0.0.1/32", *extra],
    ).start()


def test_each_task_is_vetted_alone_and_bounded(tmp_path: Path, listener: int, processes: Processes) -> None:
    """One task with a 70-character DNS label, an ICMP count of 2e7 and a timeout of 4e9 ms each
    aborted the whole round; now each is reported alone and the good tasks are measured."""
    tcp = measurement_pb2.PROTOCOL_TCP
    icmp = measurement_pb2.PROTOCOL_ICMP
    tasks = [
        task("good-1", tcp, address="127.0.0.1", port=listener),
        task("long-label", tcp, name="a" * 70 + ".invalid", port=listener),
        task("many-echoes", icmp, address="127.0.0.1", options={"count": 20_000_000}),
        task("endless", tcp, address="127.0.0.1", port=listener, options={"timeout_ms": 4_000_000_000}),
        task("good-2", tcp, address="127.0.0.1", port=listener),
    ]
    collector = FakeCollector(work_plan(tasks))
    try:
        probe = start_probe(processes, tmp_path, collector)

        def every_task() -> dict[str, measurement_pb2.Measurement] | None:
            found = {m.task_id: m for m in collector.measurements()}
            return found if found.keys() >= {t.id for t in tasks} else None

        received = poll(every_task, timeout_s=60, what="a result for every task")
        assert received is not None
        assert probe.process is not None and probe.process.alive()
    finally:
        collector.stop()
    assert received["good-1"].outcome == received["good-2"].outcome == measurement_pb2.OUTCOME_OK
    assert received["long-label"].outcome == measurement_pb2.OUTCOME_FAILURE
    for bounded, flag in (("many-echoes", "--max-icmp-count"), ("endless", "--max-timeout-ms")):
        assert received[bounded].outcome == measurement_pb2.OUTCOME_REFUSED_BY_POLICY, bounded
        assert flag in received[bounded].failure.detail


def test_a_plan_over_the_task_cap_is_cut_while_decoding(
    tmp_path: Path, listener: int, processes: Processes
) -> None:
    tasks = [
        task(f"t{n}", measurement_pb2.PROTOCOL_TCP, address="127.0.0.1", port=listener) for n in range(400)
    ]
    collector = FakeCollector(work_plan(tasks))
    try:
        probe = start_probe(processes, tmp_path, collector, "--max-tasks-per-round", "10")
        poll(lambda: len(collector.measurements()) >= 10, timeout_s=60, what="the 10 tasks taken")
        cut = poll(
            lambda: probe.metric("vantage_probe_refused_tasks_total", {"reason": "over-task-cap"}),
            timeout_s=30,
            what="the cut counted",
        )
    finally:
        collector.stop()
    assert cut == 390
    assert {m.task_id for m in collector.measurements()} == {f"t{n}" for n in range(10)}
    saved = [path for path in (tmp_path / "probe-state").iterdir() if "plan" in path.name]
    assert saved and all(path.stat().st_size < len(work_plan(tasks)) / 10 for path in saved)
