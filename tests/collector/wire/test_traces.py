"""The round's traceroutes from stored batches: what a probe sent, hops mapped to ASes."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from vantage.collector.storage.records import ResultBatchRecord, measurement_id_bytes
from vantage.collector.wire.measurements import round_measurements
from vantage.collector.wire.observations import build_observations
from vantage.collector.wire.traces import round_traces
from vantage.kinds import Outcome, Protocol
from vantage.probe.convert import result_to_proto
from vantage.probe.engine.model import MeasurementResult, TraceHop, TraceReply, TracerouteDetails
from vantage.v1 import probe_service_pb2

TABLE = {"203.0.113.1": (1299, "SE"), "198.51.100.9": (9198, "KZ")}


def locate(address: str) -> tuple[int, str]:
    return TABLE.get(address, (0, ""))


def trace_result(reached: bool) -> MeasurementResult:
    hops = (
        TraceHop(1, (TraceReply(True), TraceReply(False, "203.0.113.1", 1.0, 11, 0, 1, 64))),
        TraceHop(2, (TraceReply(True), TraceReply(True))),
        TraceHop(3, (TraceReply(False, "198.51.100.9", 3.0, 0, 0, 0, 60),) * 2),
    )
    details = TracerouteDetails("icmp", 0, 1, 30, 2, hops if reached else hops[:2], reached, "completed")
    return MeasurementResult(
        key="k",
        protocol=Protocol.TRACEROUTE,
        address="198.51.100.9",
        started_at=datetime(2026, 1, 5, 10, 30, tzinfo=UTC),
        duration_ms=20.0,
        outcome=Outcome.OK if reached else Outcome.FAILURE,
        details=details,
        target_id="t1",
        address_family=4,
    )


def batch(*measurements: object, asns: tuple[int, ...]) -> ResultBatchRecord:
    payload = probe_service_pb2.ResultBatch(batch_id="b", measurements=measurements).SerializeToString()  # type: ignore[arg-type]
    ids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(len(measurements))]
    return ResultBatchRecord(
        probe_id="p1", probe_asn=64500, probe_country="NL", received_at_unix_s=0.0,
        first_started_at_unix_s=0.0, last_started_at_unix_s=0.0, rounds=(7,),
        measurement_ids=b"".join(measurement_id_bytes(i) for i in ids),
        target_asns=struct.pack(f"<{len(asns)}I", *asns), payload=payload,
    )  # fmt: skip


def test_traces_are_decoded_with_their_as_hops_and_never_vote() -> None:
    reached = result_to_proto(trace_result(True), probe_id="p1", measurement_id="m0", round=7)
    stopped = result_to_proto(trace_result(False), probe_id="p1", measurement_id="m1", round=7)
    other_round = result_to_proto(trace_result(True), probe_id="p1", measurement_id="m2", round=6)
    stored = batch(reached, stopped, other_round, asns=(9198, 0, 9198))
    traces = round_traces([stored], 7, locate)
    assert [t.reached for t in traces] == [True, False]
    first = traces[0]
    assert (first.probe_id, first.probe_asn, first.target_id, first.target_asn) == ("p1", 64500, "t1", 9198)
    assert [(h.ttl, h.address, h.asn) for h in first.hops] == [
        (1, "203.0.113.1", 1299),
        (3, "198.51.100.9", 9198),
    ]
    assert first.as_path == (1299, 9198) and traces[1].target_asn == 9198  # 0 at ingest: located now
    assert first.started_unix_s == datetime(2026, 1, 5, 10, 30, tzinfo=UTC).timestamp()
    measurements = round_measurements([stored], 7, {})
    assert len(measurements) == 2
    assert build_observations(measurements, probes={}, targets={}, locate=locate) == []


def test_batches_without_a_traceroute_are_not_decoded_again() -> None:
    stored = batch(asns=())
    assert b"\xc2\x01" not in stored.payload
    assert round_traces([stored], 7, locate) == []
