"""A real collector process with 2-second rounds: work → results → verdicts; reader tokens; SIGTERM."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import CollectorProcess, enroll, start_collector
from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
    query_service_pb2,
    query_service_pb2_grpc,
)

pytest.importorskip("vantage.collector.verdict.engine")
DEADLINE_S = 60.0


def result_for(task: probe_service_pb2.Task, probe_id: str, round_number: int) -> measurement_pb2.Measurement:
    m = measurement_pb2.Measurement(
        id=str(uuid.uuid4()),
        probe_id=probe_id,
        target=task.target,
        protocol=task.protocol,
        outcome=measurement_pb2.OUTCOME_OK,
        task_id=task.id,
        round=round_number,
    )
    m.started_at.GetCurrentTime()
    m.icmp.sent, m.icmp.received, m.icmp.avg_rtt_ms = 3, 3, 10.0
    return m


@pytest.mark.slow
def test_work_results_and_verdicts_in_real_rounds(tmp_path: Path) -> None:
    collector = start_collector(tmp_path / "collector", "--round-seconds", "2")
    try:
        with collector.channel() as channel:
            admin = admin_service_pb2_grpc.AdminServiceStub(channel)
            admin.ImportTargets(
                admin_service_pb2.ImportTargetsRequest(
                    targets=[
                        admin_service_pb2.TargetSpec(
                            target=f"192.0.2.{n}", protocols=[1], asn=64500, country="KZ"
                        )
                        for n in (1, 2, 3)
                    ]
                ),
                metadata=collector.admin_metadata,
                timeout=10,
            )
            probes = [enroll(collector) for _ in range(3)]
            for n, p in enumerate(probes):
                admin.PinProbeLocation(
                    admin_service_pb2.PinProbeLocationRequest(
                        probe_id=p.probe_id, asn=64601 + n, country="DE"
                    ),
                    metadata=collector.admin_metadata,
                    timeout=10,
                )
            stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
            query = query_service_pb2_grpc.QueryServiceStub(channel)
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:  # each loop: one round's work, done at once
                for p in probes:
                    md = bearer_metadata(p.credential)
                    plan = stub.GetWork(
                        probe_service_pb2.GetWorkRequest(
                            capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)
                        ),
                        metadata=md,
                        timeout=10,
                    )
                    results = [result_for(t, p.probe_id, plan.round) for t in plan.tasks]
                    batch = probe_service_pb2.ResultBatch(batch_id="b", measurements=results)
                    acks = list(stub.SubmitResults(iter([batch]), metadata=md, timeout=10))
                    assert acks[0].accepted == len(results)
                try:
                    status = query.GetAsStatus(query_service_pb2.GetAsStatusRequest(asn=64500), timeout=10)
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.NOT_FOUND
                    time.sleep(0.5)
                    continue
                if status.evidence.vantage_points >= 3:
                    break
                time.sleep(0.5)
            else:
                pytest.fail(
                    "no verdict with 3 vantage points for AS64500 within the deadline:\n"
                    + "".join(collector.lines)
                )
            assert status.country == "KZ" and status.algorithm_version
            listed = query.ListProbes(query_service_pb2.ListProbesRequest(), timeout=10)
            assert all(p.results_received > 0 for p in listed.probes)
    finally:
        assert collector.stop(signal.SIGTERM) == 0
    assert any("collector stopped" in line for line in collector.lines)


def test_reader_token_guards_queries(tmp_path: Path) -> None:
    collector: CollectorProcess = start_collector(
        tmp_path / "collector", "--require-reader-token", "--round-seconds", "3600"
    )
    try:
        reader = read_credential_file(collector.data_dir / "reader.credential")
        with collector.channel() as channel:
            query = query_service_pb2_grpc.QueryServiceStub(channel)
            with pytest.raises(grpc.RpcError) as failure:
                query.ListProbes(query_service_pb2.ListProbesRequest(), timeout=10)
            assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert query.ListProbes(
                query_service_pb2.ListProbesRequest(), metadata=bearer_metadata(reader), timeout=10
            )
            assert query.ListProbes(
                query_service_pb2.ListProbesRequest(), metadata=collector.admin_metadata, timeout=10
            )
            # A reader cannot administer.
            with pytest.raises(grpc.RpcError) as denied:
                admin_service_pb2_grpc.AdminServiceStub(channel).ListTargets(
                    admin_service_pb2.ListTargetsRequest(), metadata=bearer_metadata(reader), timeout=10
                )
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        collector.stop(signal.SIGKILL)


def test_health_and_reflection_are_served(collector: CollectorProcess) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with collector.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "vantage.v1.ProbeService", "vantage.v1.QueryService", "vantage.v1.AdminService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"vantage.v1.ProbeService", "vantage.v1.QueryService", "vantage.v1.AdminService"} <= names


def test_metrics_count_batches_and_calls(tmp_path: Path) -> None:
    import urllib.request

    from tests.collector.factories import batch, measurement

    collector = start_collector(tmp_path / "collector", "--metrics", "127.0.0.1:0", "--round-seconds", "3600")
    try:
        (line,) = [line for line in collector.lines if line.startswith("collector metrics on ")]
        url = line.split("collector metrics on ", 1)[1].strip()
        probe = enroll(collector)
        items = [measurement(probe.probe_id) for _ in range(5)] + [
            measurement(probe.probe_id, address="nope")
        ]
        with collector.channel() as channel:
            list(
                probe_service_pb2_grpc.ProbeServiceStub(channel).SubmitResults(
                    iter([batch("m", items)]), metadata=bearer_metadata(probe.credential), timeout=10
                )
            )
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            text = response.read().decode()
    finally:
        collector.stop(signal.SIGKILL)
    assert "vantage_results_accepted_total 5.0" in text
    assert 'vantage_grpc_requests_total{code="OK",method="SubmitResults"} 1.0' in text
    assert 'vantage_grpc_requests_total{code="OK",method="Enroll"} 1.0' in text
    assert "bad_address" in text
