"""Protobuf in and out of the daemon (the only daemon module besides the gRPC
edges that touches vantage.v1 messages).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from vantage.failures import REFUSED_BY_POLICY, UNKNOWN_FAILURE, Operation
from vantage.probe.daemon.policy import Refusal
from vantage.probe.daemon.scheduler import PlanTiming
from vantage.probe.engine.model import DEFAULT_ICMP_COUNT
from vantage.protocols import KINDS
from vantage.v1 import measurement_pb2, probe_service_pb2

# A fixed namespace so that ids are stable across restarts and versions.
MEASUREMENT_ID_NAMESPACE = uuid.UUID("5b0a7c9e-3f4d-4c61-9a8e-0d2b6f1e7a33")
# The engine's default ICMP count (RIPE Atlas's built-in ping sends 3 packets).
DEFAULT_ICMP_PACKETS = DEFAULT_ICMP_COUNT


@dataclass(frozen=True, slots=True)
class ReceivedPlan:
    timing: PlanTiming  # in the probe's wall clock
    tasks: tuple[probe_service_pb2.Task, ...]
    # Collector clock minus probe clock, seconds (positive: the collector is ahead).
    clock_offset_s: float
    clock_skew_tolerance_s: float
    probe_asn: int
    probe_country: str


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


def plan_from_proto(plan: probe_service_pb2.WorkPlan, received_at_unix_s: float) -> ReceivedPlan:
    offset_s = _unix(plan.server_time) - received_at_unix_s if plan.HasField("server_time") else 0.0
    length_s = _seconds(plan.round_length)
    if length_s <= 0:
        raise ValueError(f"work plan for round {plan.round} has no round length")
    timing = PlanTiming(
        round=plan.round, round_start_s=_unix(plan.round_start) - offset_s, round_length_s=length_s
    )
    return ReceivedPlan(
        timing=timing,
        tasks=tuple(plan.tasks),
        clock_offset_s=offset_s,
        clock_skew_tolerance_s=_seconds(plan.clock_skew_tolerance),
        probe_asn=plan.probe_asn,
        probe_country=plan.probe_country,
    )


def task_host(task: probe_service_pb2.Task) -> str:
    """Where the task would send packets: its address, else the host of its URL or its name."""
    if task.target.address:
        return task.target.address
    if task.protocol == measurement_pb2.PROTOCOL_HTTP:
        url = task.options.url or task.target.url
        return urlsplit(url).hostname or ""
    return task.target.name


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def with_address(task: probe_service_pb2.Task, address: str) -> probe_service_pb2.Task:
    """The task pinned to a checked address (HTTP keeps the URL's name for Host and SNI)."""
    pinned = probe_service_pb2.Task()
    pinned.CopyFrom(task)
    pinned.target.address = address
    return pinned


def task_packets(task: probe_service_pb2.Task) -> int:
    if task.protocol == measurement_pb2.PROTOCOL_ICMP:
        return task.options.count or DEFAULT_ICMP_PACKETS
    return 1


def protocol_label(task: probe_service_pb2.Task) -> str:
    return measurement_pb2.Protocol.Name(task.protocol).removeprefix("PROTOCOL_").lower()


def _base_measurement(
    task: probe_service_pb2.Task,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
    task_index: int = 0,
) -> measurement_pb2.Measurement:
    measurement = measurement_pb2.Measurement(
        id=measurement_id(probe_id, round_number, task.id, task_index),
        probe_id=probe_id,
        protocol=task.protocol,
        task_id=task.id,
        round=round_number,
        probe_version=probe_version,
    )
    measurement.target.CopyFrom(task.target)
    if not measurement.target.url and task.options.url:
        measurement.target.url = task.options.url
    measurement.started_at.FromDatetime(started_at.astimezone(UTC))
    measurement.duration.FromNanoseconds(0)
    host = task_host(task)
    if is_ip_literal(host):
        measurement.address_family = ipaddress.ip_address(host.split("%", 1)[0]).version
    return measurement


def refused_measurement(
    task: probe_service_pb2.Task,
    refusal: Refusal,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
) -> measurement_pb2.Measurement:
    measurement = _base_measurement(
        task, probe_id=probe_id, round_number=round_number, started_at=started_at, probe_version=probe_version
    )
    measurement.outcome = measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    measurement.failure.kind = REFUSED_BY_POLICY
    measurement.failure.operation = int(Operation.POLICY)  # type: ignore[assignment]
    measurement.failure.detail = refusal.detail
    return measurement


def unrunnable_measurement(
    task: probe_service_pb2.Task,
    reason: str,
    *,
    probe_id: str,
    round_number: int,
    started_at: datetime,
    probe_version: str,
) -> measurement_pb2.Measurement:
    """A task the engine cannot run (malformed, or no ICMP socket): reported, not dropped."""
    measurement = _base_measurement(
        task, probe_id=probe_id, round_number=round_number, started_at=started_at, probe_version=probe_version
    )
    measurement.outcome = measurement_pb2.OUTCOME_FAILURE
    measurement.failure.kind = UNKNOWN_FAILURE
    measurement.failure.detail = reason[:500]
    return measurement


def metric_labels(measurement: measurement_pb2.Measurement) -> tuple[str, str, str]:
    """(protocol, outcome, failure kind or "") — all from closed vocabularies."""
    protocol = measurement_pb2.Protocol.Name(measurement.protocol).removeprefix("PROTOCOL_").lower()
    outcome = measurement_pb2.Outcome.Name(measurement.outcome).removeprefix("OUTCOME_").lower()
    return protocol, outcome, measurement.failure.kind if measurement.HasField("failure") else ""


def capabilities(*, icmp: bool, ipv6: bool) -> probe_service_pb2.ProbeCapabilities:
    """Every kind in vantage/protocols.py; those needing a raw socket only with the ICMP socket."""
    protocols = [int(kind.protocol) for kind in KINDS if icmp or not kind.needs_raw_socket]
    return probe_service_pb2.ProbeCapabilities(icmp=icmp, ipv6=ipv6, protocols=protocols)  # type: ignore[arg-type]


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
