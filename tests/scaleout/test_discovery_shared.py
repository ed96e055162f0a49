"""Two real collectors on one PostgreSQL schema share one discovery campaign.

Hour-long rounds keep every GetWork of the test inside one round. The census plan is a function
of time, the campaign row and the block histories, so both collectors hand each probe the same
discovery tasks, and no address goes to two probes: no block is censused twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.service.test_discovery import DATASET, LAB_BOUNDS, census_period_with_slots, census_tasks
from tests.scaleout.cluster import Cluster, start_cluster
from tests.scaleout.pg import create_schema, drop_schema, require_server
from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc, probe_service_pb2, probe_service_pb2_grpc

NAMES = ("c0", "c1")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_server()
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET, encoding="utf-8")
    schema = create_schema("discovery_")
    try:
        handle = start_cluster(
            tmp_path, schema, NAMES, "--round-seconds", "3600", "--asn-db", str(dataset), *LAB_BOUNDS
        )
        try:
            yield handle
        finally:
            handle.stop()
    finally:
        drop_schema(schema)


def admin_stub(cluster: Cluster, on: str) -> tuple[admin_service_pb2_grpc.AdminServiceStub, object]:
    metadata = bearer_metadata(read_credential_file(cluster.collectors[on].data_dir / "admin.credential"))
    channel = grpc.insecure_channel(cluster.collectors[on].address)
    return admin_service_pb2_grpc.AdminServiceStub(channel), metadata


def enroll_outside(cluster: Cluster, count: int) -> list[probe_service_pb2.EnrollResponse]:
    stub, metadata = admin_stub(cluster, "c0")
    probes = []
    with grpc.insecure_channel(cluster.collectors["c0"].address) as channel:
        probe_stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        for n in range(count):
            token = stub.CreateEnrollmentToken(
                admin_service_pb2.CreateEnrollmentTokenRequest(name=f"p{n}"), metadata=metadata, timeout=10
            ).token
            probe = probe_stub.Enroll(
                probe_service_pb2.EnrollRequest(
                    enrollment_token=token, capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)
                ),
                timeout=10,
            )
            stub.PinProbeLocation(
                admin_service_pb2.PinProbeLocationRequest(probe_id=probe.probe_id, asn=64510, country="NL"),
                metadata=metadata,
                timeout=10,
            )
            probes.append(probe)
    return probes


def work_from(
    cluster: Cluster, on: str, probe: probe_service_pb2.EnrollResponse
) -> probe_service_pb2.WorkPlan:
    with grpc.insecure_channel(cluster.collectors[on].address) as channel:
        plan: probe_service_pb2.WorkPlan = probe_service_pb2_grpc.ProbeServiceStub(channel).GetWork(
            probe_service_pb2.GetWorkRequest(capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)),
            metadata=bearer_metadata(probe.credential),
            timeout=30,
        )
        return plan


def test_two_collectors_share_one_campaign_without_probing_an_address_twice(cluster: Cluster) -> None:
    probes = enroll_outside(cluster, 4)
    stub, metadata = admin_stub(cluster, "c1")  # started through one collector ...
    request = admin_service_pb2.StartDiscoveryRequest(countries=["KZ"])
    request.census_period.FromSeconds(census_period_with_slots(3600.0, 4 * 3600, rounds_ahead=1))
    campaign = stub.StartDiscovery(request, metadata=metadata, timeout=30)
    other, other_metadata = admin_stub(cluster, "c0")  # ... listed by the other
    listed = other.ListDiscovery(
        admin_service_pb2.ListDiscoveryRequest(), metadata=other_metadata, timeout=30
    )
    assert [c.id for c in listed.campaigns] == [campaign.id]
    # Half the fleet asks c0, half c1; every probe's plan is the same from either collector.
    plans = {p.probe_id: work_from(cluster, NAMES[n % 2], p) for n, p in enumerate(probes)}
    again = {p.probe_id: work_from(cluster, NAMES[(n + 1) % 2], p) for n, p in enumerate(probes)}
    assert len({plan.round for plan in [*plans.values(), *again.values()]}) == 1, "straddled an hour: rerun"
    for probe_id, plan in plans.items():
        assert [t.id for t in census_tasks(plan)] == [t.id for t in census_tasks(again[probe_id])]
    addresses = [t.target.address for plan in plans.values() for t in census_tasks(plan)]
    assert addresses, "the census period was chosen so that this round has slots"
    assert len(addresses) == len(set(addresses))
