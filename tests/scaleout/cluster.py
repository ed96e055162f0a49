"""Real collector processes on one PostgreSQL schema, and a gRPC client acting as a probe fleet.

The load client is a stand-in for probes whose every step we can check: it
sends batches of known measurement ids, fails over to the next collector when
one stops answering (resending the unacked batch, as the probe daemon does),
re-sends some acked batches to another collector on purpose, and keeps every
ack, so a test can compare what was acked with what the database holds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psycopg

from tests.collector.conftest import CollectorProcess, start_collector
from tests.collector.factories import measurement
from tests.collector.issued import issued_tasks
from tests.scaleout.pg import postgres_dsn, with_search_path
from vantage.v1 import (
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
    query_service_pb2,
    query_service_pb2_grpc,
)

# Codes that mean "this collector is gone": fail over to the next one.
FAILOVER_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
CALL_TIMEOUT_S = 15.0


@dataclass
class Cluster:
    schema: str
    collectors: dict[str, CollectorProcess]  # by collector id

    @property
    def db_url(self) -> str:
        return with_search_path(postgres_dsn(), self.schema)

    def sql(self, query: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(query, params).fetchall()

    def computed_rounds(self) -> list[tuple[int, str]]:
        rows = self.sql(
            "SELECT number, computed_by FROM rounds WHERE computed_at IS NOT NULL ORDER BY number"
        )
        return [(int(n), str(by)) for n, by in rows]

    def alive(self) -> dict[str, CollectorProcess]:
        return {name: c for name, c in self.collectors.items() if c.process.poll() is None}

    def stop(self) -> None:
        for handle in self.collectors.values():
            handle.stop()


def start_cluster(root: Path, schema: str, names: Sequence[str], *extra: str) -> Cluster:
    url = with_search_path(postgres_dsn(), schema)
    started: dict[str, CollectorProcess] = {}
    try:
        for name in names:
            started[name] = start_collector(
                root / name, "--db", url, "--collector-id", name, "--log-level", "INFO", *extra
            )
    except BaseException:
        for handle in started.values():
            handle.stop()
        raise
    return Cluster(schema=schema, collectors=started)


def poll(condition: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class SentBatch:
    batch_id: str
    ids: tuple[str, ...]
    acks: list[tuple[str, probe_service_pb2.BatchAck]] = field(default_factory=list)  # (collector, ack)
    failed_attempts: list[str] = field(default_factory=list)  # collectors that did not ack


@dataclass
class LoadProbe:
    """One enrolled probe identity driven by a thread: batches every `period_s` with failover."""

    probe_id: str
    credential: str
    addresses: list[str]  # preference order; the first is this probe's home collector
    target_ids: dict[str, str]  # address -> target id
    round_seconds: float
    failing: Callable[[str], bool]  # is this target address cut off now?
    db_url: str  # the collectors' database: where the tasks the results answer are issued
    per_target: int = 4
    period_s: float = 0.2
    resend_every: int = 5
    sent: list[SentBatch] = field(default_factory=list)
    resends: list[tuple[str, probe_service_pb2.BatchAck]] = field(default_factory=list)
    error: BaseException | None = None
    _down: set[str] = field(default_factory=set)
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)

    def _stub(self, address: str) -> probe_service_pb2_grpc.ProbeServiceStub:
        if address not in self._channels:
            self._channels[address] = grpc.insecure_channel(address)
        return probe_service_pb2_grpc.ProbeServiceStub(self._channels[address])

    def _submit_to(self, address: str, batch: probe_service_pb2.ResultBatch) -> probe_service_pb2.BatchAck:
        acks = list(
            self._stub(address).SubmitResults(
                iter([batch]),
                metadata=(("authorization", f"Bearer {self.credential}"),),
                timeout=CALL_TIMEOUT_S,
            )
        )
        assert len(acks) == 1 and acks[0].batch_id == batch.batch_id, acks
        return acks[0]

    def _live(self) -> list[str]:
        return [a for a in self.addresses if a not in self._down]

    def _batch(self, number: int) -> tuple[probe_service_pb2.ResultBatch, tuple[str, ...]]:
        round_number = int(time.time() // self.round_seconds)
        items = []
        for address, target_id in self.target_ids.items():
            cut = self.failing(address)
            for _ in range(self.per_target):
                items.append(
                    measurement(
                        self.probe_id,
                        measurement_id=str(uuid.uuid4()),
                        address=address,
                        target_id=target_id,
                        round_number=round_number,
                        outcome=measurement_pb2.OUTCOME_FAILURE if cut else measurement_pb2.OUTCOME_OK,
                        failure="generic_timeout_error" if cut else "",
                    )
                )
        batch = probe_service_pb2.ResultBatch(batch_id=f"{self.probe_id}-{number}", measurements=items)
        self._issue(batch.measurements)
        return batch, tuple(m.id for m in items)

    def _issue(self, measurements: Sequence[measurement_pb2.Measurement]) -> None:
        """Record the tasks these results answer as issued, in the database every collector
        reads (tests/collector/issued.py): any collector believes them, as after a GetWork."""
        rows = [
            (t.task_id, t.round, t.probe_id, t.target_id, t.kind, t.protocol)
            for t in issued_tasks(measurements)
        ]
        with psycopg.connect(self.db_url) as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO issued_tasks (task_id, round, probe_id, target_id, kind, protocol)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (task_id) DO NOTHING",
                rows,
            )

    def run(self, stop: threading.Event) -> None:
        try:
            number = 0
            while not stop.is_set():
                batch, ids = self._batch(number)
                record = SentBatch(batch.batch_id, ids)
                self.sent.append(record)
                while not record.acks:
                    live = self._live()
                    assert live, "every collector is down"
                    address = live[0]
                    try:
                        record.acks.append((address, self._submit_to(address, batch)))
                    except grpc.RpcError as exc:
                        if exc.code() not in FAILOVER_CODES:
                            raise
                        record.failed_attempts.append(address)
                        self._down.add(address)  # fail over; a killed collector stays down here
                if number % self.resend_every == self.resend_every - 1:
                    # Re-send an acked batch to another collector: it must store nothing twice.
                    others = [a for a in self._live() if a != record.acks[-1][0]]
                    if others:
                        try:
                            self.resends.append((others[0], self._submit_to(others[0], batch)))
                        except grpc.RpcError as exc:
                            if exc.code() not in FAILOVER_CODES:
                                raise
                            self._down.add(others[0])
                number += 1
                stop.wait(self.period_s)
        except BaseException as exc:  # reported by the test, never swallowed
            self.error = exc

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


class EventWatch:
    """A WatchEvents stream on one collector, read on a thread."""

    def __init__(self, address: str, country: str) -> None:
        self.address = address
        self.events: list[query_service_pb2.Event] = []
        self.ended: grpc.StatusCode | None = None
        self._channel = grpc.insecure_channel(address)
        stub = query_service_pb2_grpc.QueryServiceStub(self._channel)
        self._call = stub.WatchEvents(query_service_pb2.WatchEventsRequest(country=country), timeout=300)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for event in self._call:
                self.events.append(event)
        except grpc.RpcError as exc:
            self.ended = exc.code()

    def close(self) -> None:
        self._call.cancel()
        self._thread.join(timeout=10)
        self._channel.close()
