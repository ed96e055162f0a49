"""GetWork hands out the assignment (collector/assignment) over the registered probes and imported targets."""

from __future__ import annotations

from tests.collector.conftest import CollectorProcess, enroll
from vantage.collector.service.auth import bearer_metadata
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
)


def import_targets(collector: CollectorProcess, specs: list[admin_service_pb2.TargetSpec]) -> None:
    with collector.channel() as channel:
        response = admin_service_pb2_grpc.AdminServiceStub(channel).ImportTargets(
            admin_service_pb2.ImportTargetsRequest(targets=specs),
            metadata=collector.admin_metadata,
            timeout=10,
        )
    assert not response.errors, response.errors


def test_every_target_is_assigned_and_plans_are_stable(collector: CollectorProcess) -> None:
    import_targets(
        collector,
        [
            admin_service_pb2.TargetSpec(target="192.0.2.1", protocols=[1], asn=64500, country="NL"),
            admin_service_pb2.TargetSpec(
                target="198.51.100.1", protocols=[1, 4], asn=64501, tags=["port:443"]
            ),
        ],
    )
    probes = [enroll(collector) for _ in range(3)]
    plans = {}
    with collector.channel() as channel:
        stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        request = probe_service_pb2.GetWorkRequest(
            capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)
        )
        for p in probes:
            plans[p.probe_id] = stub.GetWork(request, metadata=bearer_metadata(p.credential), timeout=10)
        again = stub.GetWork(request, metadata=bearer_metadata(probes[0].credential), timeout=10)
    tasks = [t for plan in plans.values() for t in plan.tasks]
    assert {t.target.address for t in tasks} == {"192.0.2.1", "198.51.100.1"}
    assert {t.protocol for t in tasks} == {measurement_pb2.PROTOCOL_ICMP, measurement_pb2.PROTOCOL_TCP}
    assert all(t.id.startswith(f"r{plan.round}-") for plan in plans.values() for t in plan.tasks)
    assert all(t.target.target_id for t in tasks)
    tcp = [t for t in tasks if t.protocol == measurement_pb2.PROTOCOL_TCP]
    assert all(t.target.port == 443 for t in tcp)
    assert [t.id for t in again.tasks] == [t.id for t in plans[probes[0].probe_id].tasks]


def test_work_plan_shows_the_pinned_location(collector: CollectorProcess) -> None:
    probe = enroll(collector)
    with collector.channel() as channel:
        admin_service_pb2_grpc.AdminServiceStub(channel).PinProbeLocation(
            admin_service_pb2.PinProbeLocationRequest(probe_id=probe.probe_id, asn=64510, country="kz"),
            metadata=collector.admin_metadata,
            timeout=10,
        )
        plan = probe_service_pb2_grpc.ProbeServiceStub(channel).GetWork(
            probe_service_pb2.GetWorkRequest(), metadata=bearer_metadata(probe.credential), timeout=10
        )
    assert (plan.probe_asn, plan.probe_country) == (64510, "KZ")
