"""Large batches decoded and checked in ingest worker processes (collector/service/ingest_pool.py),
against a real collector process, its real worker processes and a real SQLite file."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import CollectorProcess, enroll, start_collector
from tests.collector.factories import batch, measurement
from tests.collector.service.test_probe_service import stored_ids, submit
from vantage.collector.service.auth import bearer_metadata
from vantage.v1 import probe_service_pb2

LARGE = 1500  # items: ~180 kB, well above ingest_pool.POOL_MIN_BYTES
SUBMIT = "/vantage.v1.ProbeService/SubmitResults"


def poll(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def worker_pids(parent: int) -> list[int]:
    """The collector's ingest worker processes (spawned children running spawn_main)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def large_batch(probe_id: str) -> probe_service_pb2.ResultBatch:
    return batch(uuid.uuid4().hex, [measurement(probe_id) for _ in range(LARGE)])


@pytest.fixture
def pooled(tmp_path: Path) -> Iterator[CollectorProcess]:
    handle = start_collector(tmp_path / "collector", "--round-seconds", "3600", "--ingest-processes", "2")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def warm_up(collector: CollectorProcess, credential: str, probe_id: str) -> list[int]:
    """Send large batches until the worker processes are up and have checked some (bounded)."""
    submit(collector, credential, [large_batch(probe_id)])  # the first large batch starts them
    poll(lambda: len(worker_pids(collector.process.pid)) == 2, timeout_s=30, what="2 ingest processes")
    workers = worker_pids(collector.process.pid)
    before = cpu_ticks(workers)

    def busy() -> bool:
        submit(collector, credential, [large_batch(probe_id) for _ in range(3)])
        return cpu_ticks(workers) >= before + 5  # they decoded and checked batches

    poll(busy, timeout_s=60, what="batches checked in the ingest processes")
    return workers


def test_large_batches_are_checked_in_worker_processes_item_by_item(pooled: CollectorProcess) -> None:
    enrolled = enroll(pooled)
    warm_up(pooled, enrolled.credential, enrolled.probe_id)
    items = [measurement(enrolled.probe_id) for _ in range(LARGE)]
    items[7] = measurement(enrolled.probe_id, address="192.0.2.300")
    items[9] = measurement(enrolled.probe_id, started_at=time.time() + 86400)
    (first,) = submit(pooled, enrolled.credential, [batch("b1", items)])
    assert (first.batch_id, first.accepted, first.duplicates) == ("b1", LARGE - 2, 0)
    assert [(r.index, r.reason) for r in first.rejected] == [
        (7, probe_service_pb2.REJECT_REASON_BAD_ADDRESS),
        (9, probe_service_pb2.REJECT_REASON_TIMESTAMP_IN_FUTURE),
    ]
    again = items[:100] + [measurement(enrolled.probe_id) for _ in range(LARGE)]
    (second,) = submit(pooled, enrolled.credential, [batch("b2", again)])
    assert (second.accepted, second.duplicates, len(second.rejected)) == (LARGE, 98, 2)
    good = [m.id for n, m in enumerate(items) if n not in (7, 9)]
    assert stored_ids(pooled, [*good, items[7].id, items[9].id]) == set(good)


def test_an_undecodable_large_batch_ends_the_stream_with_invalid_argument(pooled: CollectorProcess) -> None:
    enrolled = enroll(pooled)
    warm_up(pooled, enrolled.credential, enrolled.probe_id)
    good = large_batch(enrolled.probe_id)
    with pooled.channel() as channel:
        call = channel.stream_stream(
            SUBMIT,
            request_serializer=lambda raw: raw,
            response_deserializer=probe_service_pb2.BatchAck.FromString,
        )
        acks = []
        with pytest.raises(grpc.RpcError) as failure:
            for ack in call(
                iter([good.SerializeToString(), b"\xff" * 100_000]),
                metadata=bearer_metadata(enrolled.credential),
                timeout=30,
            ):
                acks.append(ack)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "could not be decoded" in (failure.value.details() or "")
    assert [a.accepted for a in acks] == [LARGE]  # the good batch before it was committed and acked
    assert len(stored_ids(pooled, [m.id for m in good.measurements])) == LARGE


def test_a_killed_worker_process_costs_no_batch(pooled: CollectorProcess) -> None:
    enrolled = enroll(pooled)
    workers = warm_up(pooled, enrolled.credential, enrolled.probe_id)
    os.kill(workers[0], signal.SIGKILL)
    batches = [large_batch(enrolled.probe_id) for _ in range(4)]
    acks = submit(pooled, enrolled.credential, batches)
    assert [a.accepted for a in acks] == [LARGE] * 4
    ids = [m.id for b in batches for m in b.measurements]
    assert len(stored_ids(pooled, ids)) == len(ids)
    # New workers replace the broken pool at the next large batch.
    poll(
        lambda: (
            bool(submit(pooled, enrolled.credential, [large_batch(enrolled.probe_id)]))
            and len(worker_pids(pooled.process.pid)) == 2
            and workers[0] not in worker_pids(pooled.process.pid)
        ),
        timeout_s=30,
        what="a new pool of 2 ingest processes",
    )
    assert pooled.process.poll() is None


def test_the_collector_ignores_sigpipe(pooled: CollectorProcess) -> None:
    """A write to the pipe of a dead ingest worker must raise BrokenPipeError (the pool is then
    replaced), not kill the collector: mrtparse sets SIGPIPE to its default action when imported,
    and the collector's extra check used to import it (vantage/cliutil.py require_extra)."""
    status = Path(f"/proc/{pooled.process.pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
    assert ignored & (1 << (signal.SIGPIPE - 1)), "SIGPIPE is not ignored by the collector"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_worker_processes_exit_when_the_collector_is_killed(pooled: CollectorProcess) -> None:
    """bench/soak.py found them alive after kill -9: no pipe they wait on closes then."""
    enrolled = enroll(pooled)
    workers = warm_up(pooled, enrolled.credential, enrolled.probe_id)
    pooled.process.send_signal(signal.SIGKILL)
    pooled.process.wait()
    poll(lambda: not any(alive(pid) for pid in workers), timeout_s=30, what="the workers to exit")
