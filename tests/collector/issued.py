"""Test support: make results answer work the collector issued (collector/service/issued_tasks.py).

A collector believes a result only for a task it issued to that probe in that round. Tests that
describe results directly (rather than running a plan from GetWork) record the tasks those
results answer as GetWork would (`Storage.record_tasks`, as collector/service/work.py does)
in the storage the collector reads: it finds them there when the result arrives, as a
restarted collector finds the tasks it issued before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import IssuedTask
from vantage.v1 import measurement_pb2

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
        tasks.append(IssuedTask(m.task_id, m.round, m.probe_id, m.target.target_id, UNKNOWN_KIND, m.protocol))
    return tasks


def issue(storage: Storage, measurements: Iterable[measurement_pb2.Measurement]) -> None:
    """Record the tasks these measurements answer as issued (see issued_tasks)."""
    storage.record_tasks(issued_tasks(measurements))
