"""kill -9 of a collector mid-stream loses no acknowledged result; a resend duplicates nothing."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import enroll, start_collector
from tests.collector.factories import batch, measurement
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc

BATCHES = 150
BATCH_ITEMS = 100
IN_FLIGHT = 4  # batches sent ahead of their acks, as a probe pipelines them
KILL_AFTER_ACKS = 15


@pytest.mark.slow
def test_kill_9_mid_stream_loses_no_acked_result(tmp_path: Path) -> None:
    data_dir = tmp_path / "collector"
    first = start_collector(data_dir, "--round-seconds", "3600")
    try:
        probe = enroll(first)
        batches = [
            batch(f"b{n}", [measurement(probe.probe_id) for _ in range(BATCH_ITEMS)]) for n in range(BATCHES)
        ]
        window = threading.Semaphore(IN_FLIGHT)
        acked: list[str] = []
        killed = threading.Event()

        def requests() -> Iterator[probe_service_pb2.ResultBatch]:
            for b in batches:
                while not window.acquire(timeout=0.1):
                    if killed.is_set():
                        return
                yield b

        with first.channel() as channel:
            stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
            with pytest.raises(grpc.RpcError) as failure:
                for ack in stub.SubmitResults(
                    requests(), metadata=bearer_metadata(probe.credential), timeout=120
                ):
                    assert ack.accepted == BATCH_ITEMS and not ack.rejected
                    acked.append(ack.batch_id)
                    window.release()
                    if len(acked) == KILL_AFTER_ACKS:
                        first.process.send_signal(signal.SIGKILL)  # mid-stream: batches are in flight
                        killed.set()
            assert failure.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
        first.process.wait(timeout=10)
        assert KILL_AFTER_ACKS <= len(acked) < BATCHES
    finally:
        first.stop(signal.SIGKILL)

    second = start_collector(data_dir, "--round-seconds", "3600")
    try:
        by_id = {b.batch_id: b for b in batches}
        acked_ids = [m.id for batch_id in acked for m in by_id[batch_id].measurements]
        storage = SqliteStorage(data_dir / "collector.sqlite3")
        try:
            assert storage.stored_measurement_ids(acked_ids) == set(acked_ids)
        finally:
            storage.close()
        # The probe resends everything it has no ack for (and, to be sure, the acked ones too).
        with second.channel() as channel:
            stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
            acks = list(
                stub.SubmitResults(iter(batches), metadata=bearer_metadata(probe.credential), timeout=120)
            )
        assert sum(a.accepted + a.duplicates for a in acks) == BATCHES * BATCH_ITEMS
        assert all(a.duplicates == BATCH_ITEMS for a in acks if a.batch_id in set(acked))
        storage = SqliteStorage(data_dir / "collector.sqlite3")
        try:
            assert storage.count_measurements() == BATCHES * BATCH_ITEMS
        finally:
            storage.close()
    finally:
        second.stop(signal.SIGKILL)
