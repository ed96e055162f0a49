"""Test support: make results answer work the collector issued (collector/service/issued_tasks.py).

A collector believes a result only for a task it issued to that probe in that round. Tests that
describe results directly (rather than running a plan from GetWork) record the tasks those
results answer as GetWork would (`Storage.record_tasks`, as collector/service/work.py does)
in the storage the collector reads: it finds them there when the result arrives, as a
restarted collector finds the tasks it issued before.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable

from vantage.collector.service.issued_tasks import issued_target
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import IssuedTask
from vantage.v1 import measurement_pb2, probe_service_pb2

UNKNOWN_KIND = 0  # what a result of no known task had: the round reads it as reachability


def task_id_for(measurement: measurement_pb2.Measurement) -> str:
    """A task id in the planner's form (f"r{round}-{16 hex}"), fixed by the measurement's id."""
    digest = hashlib.sha256(f"{measurement.probe_id}/{measurement.id}".encode()).hexdigest()[:16]
    return f"r{measurement.round}-{digest}"


def issued_tasks(measurements: Iterable[measurement_pb2.Measurement]) -> list[IssuedTask]:
    """The task each measurement answers, issued to its probe in its round; a measurement
    without a task id gets one (set on it)."""
    tasks = []
    for m in measurements:
        if not m.task_id:
            m.task_id = task_id_for(m)
        target = issued_target(m.round, m.protocol, m.target.target_id, m.target.address)
        tasks.append(
            IssuedTask(
                m.task_id,
                m.round,
                m.probe_id,
                target.target_id,
                UNKNOWN_KIND,
                target.protocol,
                address=target.address,
            )
        )
    return tasks


def issue(storage: Storage, measurements: Iterable[measurement_pb2.Measurement]) -> None:
    """Record the tasks these measurements answer as issued (see issued_tasks)."""
    storage.record_tasks(issued_tasks(measurements))


def icmp_answer(
    task: probe_service_pb2.Task,
    probe_id: str,
    round_number: int,
    *,
    answered: bool,
    at_s: float | None = None,
    echoes: int = 3,
    rtt_ms: float = 20.0,
) -> measurement_pb2.Measurement:
    """A probe's ICMP result of `task` (its target, protocol and id) in `round_number`: every
    echo answered in `rtt_ms`, or none (a timeout); started at `at_s` (Unix seconds), now when
    None. A task without an id gives a result without one (see issued_tasks)."""
    address = task.target.address
    m = measurement_pb2.Measurement(
        id=str(uuid.uuid4()),
        probe_id=probe_id,
        target=task.target,
        protocol=task.protocol or measurement_pb2.PROTOCOL_ICMP,
        outcome=measurement_pb2.OUTCOME_OK if answered else measurement_pb2.OUTCOME_FAILURE,
        task_id=task.id,
        round=round_number,
        address_family=(6 if ":" in address else 4) if address else 0,
    )
    m.started_at.FromNanoseconds(time.time_ns() if at_s is None else int(at_s * 1e9))
    m.icmp.sent, m.icmp.received = echoes, echoes if answered else 0
    if answered:
        m.icmp.avg_rtt_ms = rtt_ms
    else:
        m.failure.kind = "generic_timeout_error"
        m.failure.operation = measurement_pb2.OPERATION_ICMP_ECHO
    return m


def icmp_task(address: str, target_id: str = "") -> probe_service_pb2.Task:
    """An ICMP task without an id (for results that `issue` gives one)."""
    return probe_service_pb2.Task(
        protocol=measurement_pb2.PROTOCOL_ICMP,
        target=measurement_pb2.Target(address=address, target_id=target_id),
    )
