"""Real `vantage probe run` processes with several --collector addresses, two collectors on PostgreSQL.

Targets are TCP on 127.0.0.x (a listener on 127.0.0.1, resets elsewhere),
opened with --allow-range: nothing leaves this machine. The collector the
probes upload to is killed with -9; they fail over to the other one, their
outboxes drain there, and every task's result is stored exactly once.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.batches import STORED_RESULTS_SQL, stored_results
from tests.probe.daemon.harness import Probe, Processes
from tests.scaleout.cluster import Cluster, poll, start_cluster
from tests.scaleout.pg import create_schema, drop_schema, require_server
from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.probe.daemon.wire import id_names_task
from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc, measurement_pb2

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUND_S = 2.0
TARGETS = 4  # 127.0.0.1 .. 127.0.0.4


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


@pytest.fixture
def cluster(tmp_path: Path, listener: int) -> Iterator[Cluster]:
    require_server()
    schema = create_schema("probes_")
    try:
        handle = start_cluster(tmp_path, schema, ("c0", "c1"), "--round-seconds", str(ROUND_S))
        try:
            c0 = handle.collectors["c0"]
            metadata = bearer_metadata(read_credential_file(c0.data_dir / "admin.credential"))
            with grpc.insecure_channel(handle.collectors["c1"].address) as channel:
                admin_service_pb2_grpc.AdminServiceStub(channel).ImportTargets(
                    admin_service_pb2.ImportTargetsRequest(
                        targets=[
                            admin_service_pb2.TargetSpec(
                                target=f"127.0.0.{n}",
                                protocols=[measurement_pb2.PROTOCOL_TCP],
                                country="KZ",
                                asn=64500 + n,
                                tags=[f"port:{listener}"],
                                line=n + 1,
                            )
                            for n in range(1, TARGETS + 1)
                        ]
                    ),
                    metadata=metadata,
                    timeout=10,
                )
            yield handle
        finally:
            handle.stop()
    finally:
        drop_schema(schema)


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    try:
        yield started
    finally:
        started.close()


def token(cluster: Cluster, on: str) -> str:
    collector = cluster.collectors[on]
    metadata = bearer_metadata(read_credential_file(collector.data_dir / "admin.credential"))
    with grpc.insecure_channel(collector.address) as channel:
        return str(
            admin_service_pb2_grpc.AdminServiceStub(channel)
            .CreateEnrollmentToken(
                admin_service_pb2.CreateEnrollmentTokenRequest(name="real"), metadata=metadata
            )
            .token
        )


def connected_collectors(pid: int, ports: dict[int, str]) -> set[str]:
    """Collectors (by name) that process `pid` holds an established TCP connection to."""
    output = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True).stdout
    found = set()
    for line in output.splitlines():
        if f"pid={pid}," not in line:
            continue
        fields = line.split()
        peer = fields[3] if len(fields) > 3 else ""
        match = re.search(r":(\d+)$", peer)
        if match and int(match.group(1)) in ports:
            found.add(ports[int(match.group(1))])
    return found


def rows_of(cluster: Cluster, probe_id: str) -> list[tuple[str, int, str]]:
    stored = stored_results(cluster.sql(STORED_RESULTS_SQL))
    return [(m.id, m.round, m.task_id) for probe, m in stored if probe == probe_id]


def test_real_probes_fail_over_between_collectors_and_deliver_once(
    tmp_path: Path, cluster: Cluster, processes: Processes
) -> None:
    addresses = [c.address for c in cluster.collectors.values()]
    for n in range(2):
        (tmp_path / f"probe-{n}").mkdir()  # each probe's log beside its state dir
    probes = [
        Probe(
            processes,
            tmp_path / f"probe-{n}" / "state",
            addresses,
            token(cluster, f"c{n}"),
            ["--allow-range", "127.0.0.0/29"],
        )
        for n in range(2)
    ]
    for probe in probes:
        probe.start()
    for probe in probes:
        assert probe.process is not None
        probe.process.wait_log("probe enrolled as", timeout_s=30)
    ids = [probe.probe_id() for probe in probes]
    for probe_id in ids:
        poll(lambda p=probe_id: rows_of(cluster, p), timeout_s=30, what=f"results of {probe_id}")

    # Kill -9 the collector the probes are talking to.
    ports = {int(c.address.rsplit(":", 1)[1]): name for name, c in cluster.collectors.items()}
    in_use: Counter[str] = Counter()
    for probe in probes:
        in_use.update(
            poll(lambda p=probe: connected_collectors(p.process.pid, ports), timeout_s=10, what="a link")
        )
    victim = in_use.most_common(1)[0][0]
    cluster.collectors[victim].process.kill()
    cluster.collectors[victim].process.wait(timeout=10)
    survivor = next(iter(cluster.alive()))
    stored_at_kill = {p: max(r for _, r, _ in rows_of(cluster, p)) for p in ids}

    # Results of later rounds keep arriving (through the survivor), and the outboxes drain.
    for probe_id in ids:
        poll(
            lambda p=probe_id: len({r for _, r, _ in rows_of(cluster, p) if r > stored_at_kill[p]}) >= 2,
            timeout_s=40,
            what=f"results of {probe_id} after the kill",
        )
    for probe in probes:
        assert probe.process is not None
        poll(
            lambda p=probe: connected_collectors(p.process.pid, ports) == {survivor},
            timeout_s=20,
            what="the probe to talk to the surviving collector only",
        )
        poll(
            lambda p=probe: p.metric("vantage_probe_outbox_depth") == 0, timeout_s=30, what="an empty outbox"
        )
        assert probe.process.terminate() == 0

    # Exactly once per task, whichever collector stored it; counts agree.
    for probe, probe_id in zip(probes, ids, strict=True):
        rows = rows_of(cluster, probe_id)
        per_task = Counter((round_number, task_id) for _, round_number, task_id in rows)
        assert max(per_task.values()) == 1, "a task has more than one stored result"
        assert all(id_names_task(mid, probe_id, r, t) for mid, r, t in rows)
        assert not (probe.outbox_ids() - {mid for mid, _, _ in rows}), "results left undelivered"
        received = cluster.sql("SELECT results_received FROM probes WHERE probe_id = %s", (probe_id,))
        assert received == [(len(rows),)]
