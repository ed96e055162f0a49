"""Protobuf in and out of the daemon: a WorkPlan becomes a plain RoundPlan
(probe/daemon/plan.py) once, when it arrives; results leave as serialized
Measurements. The daemon's logic (round_tasks, runner, policy, scheduler) never
sees a vantage.v1 message; tests/probe/daemon/test_wire_edges.py lists the few
modules that may.

Measurement ids are UUIDs derived from (probe, round, task): the same task in
the same round always gets the same id, so a probe that restarts mid-round and
measures a task again produces a duplicate the collector drops, never a second
result for one task. Ids are fixed when a result enters the outbox and never
change after that.

Layout (RFC 9562 UUIDv8, a custom layout): the round number in the top 32
bits, a 16-bit hash of the probe id, the task's index in the round's plan,
then hash bits of (probe, round, task). The collector's dedup index is keyed by the id, and a random id (v4,
v5) lands each insert on a random page of a growing B-tree: one batch of 1000
then dirties ~1000 pages and ingest collapses (31k ids/s at 1M ids on SQLite
against 195k with time-ordered ids; docs/ingest.md). These ids put one
probe's batch of a round into one narrow key range.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from vantage.failures import REFUSED_BY_POLICY, UNKNOWN_FAILURE, Operation
from vantage.kinds import Protocol
from vantage.probe.daemon.plan import (
    PlannedOptions,
    PlannedTarget,
    PlannedTask,
    RoundPlan,
    is_ip_literal,
    task_host,
)
from vantage.probe.daemon.policy import Refusal
from vantage.probe.daemon.scheduler import PlanTiming
from vantage.probe.engine.model import MeasurementResult
from vantage.protocols import KINDS, kind_of
from vantage.v1 import measurement_pb2, probe_service_pb2
from vantage.wireframe import FrameError, skip_value, varint

# A fixed namespace so that ids are stable across restarts and versions.
MEASUREMENT_ID_NAMESPACE = uuid.UUID("5b0a7c9e-3f4d-4c61-9a8e-0d2b6f1e7a33")


@dataclass(frozen=True, slots=True)
class EncodedResult:
    """A result ready for the outbox: its id, the serialized Measurement, its metric labels."""

    measurement_id: str
    payload: bytes
    labels: tuple[str, str, str]  # (protocol, outcome, failure kind or "")


_ROUND_BITS = 32
_TASK_INDEX_BITS = 20  # a million tasks per probe and round before the index wraps
_UUID_VERSION_8 = 0x8 << 76
_UUID_VARIANT_RFC = 0b10 << 62


def measurement_id(probe_id: str, round_number: int, task_id: str, task_index: int = 0) -> str:
    """The id of the result of `task_id` (at `task_index` in the round's plan) in `round_number`.

    Bits, high to low: round (32), hash of the probe id (16), version 8 (4), task index's
    high 12 bits, variant (2), task index's low 8 bits, hash of (probe, round, task) (54).
    Results are written in roughly plan order, so a batch's ids fall into one narrow range.
    """
    if not task_id:
        return str(uuid.uuid4())
    task_hash = uuid.uuid5(MEASUREMENT_ID_NAMESPACE, f"{probe_id}\x00{round_number}\x00{task_id}").int
    probe_hash = uuid.uuid5(MEASUREMENT_ID_NAMESPACE, probe_id).int >> 112
    index = task_index % (1 << _TASK_INDEX_BITS)
    value = (
        ((round_number % (1 << _ROUND_BITS)) << 96)
        | (probe_hash << 80)
        | _UUID_VERSION_8
        | ((index >> 8) << 64)
        | _UUID_VARIANT_RFC
        | ((index & 0xFF) << 54)
        | (task_hash & ((1 << 54) - 1))
    )
    return str(uuid.UUID(int=value))


def id_names_task(text: str, probe_id: str, round_number: int, task_id: str) -> bool:
    """Whether `text` is measurement_id(probe_id, round_number, task_id, i) for some index i."""
    index_bits = (((1 << 12) - 1) << 64) | (0xFF << 54)
    value = uuid.UUID(text).int & ~index_bits
    return value == uuid.UUID(measurement_id(probe_id, round_number, task_id, 0)).int


def _seconds(duration: Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def _unix(timestamp: Timestamp) -> float:
    return timestamp.seconds + timestamp.nanos / 1e9


def planned_task(task: probe_service_pb2.Task) -> PlannedTask:
    """The plain task; an unknown protocol number becomes UNSPECIFIED (reported as unrunnable)."""
    target, options = task.target, task.options
    return PlannedTask(
        id=task.id,
        protocol=kind.protocol if (kind := kind_of(task.protocol)) is not None else Protocol.UNSPECIFIED,
        target=PlannedTarget(
            address=target.address,
            name=target.name,
            port=target.port,
            url=target.url,
            target_id=target.target_id,
        ),
        options=PlannedOptions(
            count=options.count,
            interval_ms=options.interval_ms,
            timeout_ms=options.timeout_ms,
            query_name=options.query_name,
            query_type=options.query_type,
            expected=tuple(options.expected),
            url=options.url,
            trace_method=options.trace_method,
            first_ttl=options.first_ttl,
            max_ttl=options.max_ttl,
            probes_per_hop=options.probes_per_hop,
        ),
    )


def plan_from_proto(plan: probe_service_pb2.WorkPlan, received_at_unix_s: float) -> RoundPlan:
    offset_s = _unix(plan.server_time) - received_at_unix_s if plan.HasField("server_time") else 0.0
    length_s = _seconds(plan.round_length)
    if length_s <= 0:
        raise ValueError(f"work plan for round {plan.round} has no round length")
    timing = PlanTiming(
        round=plan.round, round_start_s=_unix(plan.round_start) - offset_s, round_length_s=length_s
    )
    return RoundPlan(
        timing=timing,
        tasks=tuple(planned_task(task) for task in plan.tasks),
        clock_offset_s=offset_s,
        clock_skew_tolerance_s=_seconds(plan.clock_skew_tolerance),
        probe_asn=plan.probe_asn,
        probe_country=plan.probe_country,
    )


# WorkPlan.tasks = 4, length-delimited: key (4 << 3) | 2.
_TASKS_KEY = 0x22


@dataclass(frozen=True, slots=True)
class CutPlan:
    """A WorkPlan decoded with at most max_tasks_per_round tasks, and how many were left out."""

    plan: probe_service_pb2.WorkPlan
    tasks_cut: int


def plan_decoder(max_tasks: int) -> Callable[[bytes], CutPlan]:
    """GetWork's response deserializer: the plan's tasks past `max_tasks` are skipped in its bytes
    (vantage/wireframe.py), never decoded, so a 10 M-task plan costs its bytes, not 4.9 GB of
    messages, and the plan store keeps only what is measured."""

    def decode(raw: bytes) -> CutPlan:
        kept: list[bytes] = []
        tasks = 0
        offset = 0
        end = len(raw)
        while offset < end:
            start = offset
            key, offset = varint(raw, offset)
            offset = skip_value(raw, offset, key)
            if key == _TASKS_KEY:
                tasks += 1
                if tasks > max_tasks:
                    continue
            kept.append(raw[start:offset])
        if offset > end:
            raise FrameError(f"a field runs {offset - end} bytes past the end of the work plan")
        cut = max(0, tasks - max_tasks)
        return CutPlan(probe_service_pb2.WorkPlan.FromString(raw if not cut else b"".join(kept)), cut)

    return decode


def received_plan(message: Any, received_at_unix_s: float) -> tuple[RoundPlan, bytes]:
    """A GetWork answer (a CutPlan, or a WorkPlan) as the plain plan and the bytes the plan store
    keeps; ValueError if unusable."""
    cut = 0
    if isinstance(message, CutPlan):
        message, cut = message.plan, message.tasks_cut
    plan: probe_service_pb2.WorkPlan = message
    return replace(plan_from_proto(plan, received_at_unix_s), tasks_cut=cut), plan.SerializeToString()


def plan_from_bytes(data: bytes, received_at_unix_s: float) -> RoundPlan:
    """A stored WorkPlan (probe/daemon/planstore.py); ValueError if it does not parse or is unusable."""
    try:
        plan = probe_service_pb2.WorkPlan.FromString(data)
    except DecodeError as exc:  # not a ValueError in every protobuf runtime (upb's is not)
        raise ValueError(f"not a WorkPlan: {exc}") from None
    return plan_from_proto(plan, received_at_unix_s)


def get_work_request(capabilities: Any, software_version: str) -> probe_service_pb2.GetWorkRequest:
    return probe_service_pb2.GetWorkRequest(capabilities=capabilities, software_version=software_version)


def _base_measurement(
    task: PlannedTask,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
    task_index: int = 0,
) -> measurement_pb2.Measurement:
    target = task.target
    measurement = measurement_pb2.Measurement(
        id=measurement_id(probe_id, round_number, task.id, task_index),
        probe_id=probe_id,
        target=measurement_pb2.Target(
            address=target.address,
            name=target.name,
            port=target.port,
            url=target.url or task.options.url,
            target_id=target.target_id,
        ),
        protocol=int(task.protocol),  # type: ignore[arg-type]
        task_id=task.id,
        round=round_number,
        probe_version=probe_version,
    )
    measurement.started_at.FromDatetime(started_at.astimezone(UTC))
    measurement.duration.FromNanoseconds(0)
    host = task_host(task)
    if is_ip_literal(host):
        measurement.address_family = ipaddress.ip_address(host.split("%", 1)[0]).version
    return measurement


def refused_measurement(
    task: PlannedTask,
    refusal: Refusal,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
) -> EncodedResult:
    measurement = _base_measurement(
        task, probe_id=probe_id, round_number=round_number, started_at=started_at, probe_version=probe_version
    )
    measurement.outcome = measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    measurement.failure.kind = REFUSED_BY_POLICY
    measurement.failure.operation = int(Operation.POLICY)  # type: ignore[assignment]
    measurement.failure.detail = refusal.detail
    return encode(measurement)


def unrunnable_measurement(
    task: PlannedTask,
    reason: str,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
) -> EncodedResult:
    """A task the engine cannot run (malformed, or no ICMP socket): reported, not dropped."""
    measurement = _base_measurement(
        task, probe_id=probe_id, round_number=round_number, started_at=started_at, probe_version=probe_version
    )
    measurement.outcome = measurement_pb2.OUTCOME_FAILURE
    measurement.failure.kind = UNKNOWN_FAILURE
    measurement.failure.detail = reason[:500]
    return encode(measurement)


def metric_labels(measurement: measurement_pb2.Measurement) -> tuple[str, str, str]:
    """(protocol, outcome, failure kind or "") — all from closed vocabularies."""
    protocol = measurement_pb2.Protocol.Name(measurement.protocol).removeprefix("PROTOCOL_").lower()
    outcome = measurement_pb2.Outcome.Name(measurement.outcome).removeprefix("OUTCOME_").lower()
    return protocol, outcome, measurement.failure.kind if measurement.HasField("failure") else ""


def encode(measurement: measurement_pb2.Measurement) -> EncodedResult:
    return EncodedResult(measurement.id, measurement.SerializeToString(), metric_labels(measurement))


def encode_result(
    result: MeasurementResult,
    task: PlannedTask,
    *,
    probe_id: str,
    round_number: int,
    probe_version: str,
    task_index: int,
) -> EncodedResult:
    """An engine result of `task` (at `task_index` in the round's plan), ready for the outbox."""
    from vantage.probe.convert import result_to_proto

    return encode(
        result_to_proto(
            result,
            probe_id=probe_id,
            measurement_id=measurement_id(probe_id, round_number, task.id, task_index),
            round=round_number,
            task_id=task.id,
            probe_version=probe_version,
        )
    )


def capabilities(*, icmp: bool, ipv6: bool, raw_sockets: bool = False) -> probe_service_pb2.ProbeCapabilities:
    """Every kind in vantage/protocols.py; those needing a raw socket only with the ICMP socket.
    raw_sockets: a raw ICMP socket opens (traceroutes are planned only then)."""
    protocols = [int(kind.protocol) for kind in KINDS if icmp or not kind.needs_raw_socket]
    return probe_service_pb2.ProbeCapabilities(
        icmp=icmp,
        ipv6=ipv6,
        protocols=protocols,  # type: ignore[arg-type]
        raw_sockets=raw_sockets,
    )


def heartbeat_request(
    *, now: datetime, outbox_depth: int, oldest_unsent_unix_s: float | None, software_version: str
) -> probe_service_pb2.HeartbeatRequest:
    request = probe_service_pb2.HeartbeatRequest(outbox_depth=outbox_depth, software_version=software_version)
    request.sent_at.FromDatetime(now.astimezone(UTC))
    if oldest_unsent_unix_s is not None:
        request.oldest_unsent.FromDatetime(datetime.fromtimestamp(oldest_unsent_unix_s, UTC))
    return request


def next_heartbeat_s(response: probe_service_pb2.HeartbeatResponse) -> float | None:
    return _seconds(response.next_heartbeat) if response.HasField("next_heartbeat") else None
