"""A TaskSpec (plain data from collector/assignment) → the wire Task a probe runs."""

from __future__ import annotations

from typing import Any

from vantage.v1 import measurement_pb2, probe_service_pb2


def task_to_proto(spec: Any) -> probe_service_pb2.Task:
    """`spec` is a vantage.collector.assignment.plan.TaskSpec (typed loosely: B1 owns it)."""
    return probe_service_pb2.Task(
        id=spec.task_id,
        kind=int(spec.kind),  # type: ignore[arg-type]
        protocol=int(spec.protocol),  # type: ignore[arg-type]
        target=measurement_pb2.Target(
            address=spec.address or "",
            name=spec.name or "",
            port=int(spec.port or 0),
            url=spec.url or "",
            target_id=spec.target_id,
        ),
        options=probe_service_pb2.TaskOptions(
            count=int(spec.count or 0),
            interval_ms=int(spec.interval_ms or 0),
            timeout_ms=int(spec.timeout_ms or 0),
            query_name=spec.query_name or "",
            query_type=spec.query_type or "",
            expected=list(spec.expected or ()),
            url=spec.url or "",
        ),
    )
