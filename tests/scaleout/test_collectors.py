"""Three real `vantage collector serve --db postgresql://...` processes on one schema.

Probes (a gRPC client acting as four probes, spread over the collectors)
stream results; the leader is killed with -9 in the middle of a round; the
probes fail over; a target AS is then cut off. Checked from the database and
over gRPC: every acked result is stored, nothing is stored twice, a batch
re-sent to another collector is all duplicates, every round from the first to
the last is computed exactly once (by a survivor after the kill), both
survivors stream the outage event (the follower through its relay), and the
survivors answer every query identically. Admin calls to any collector work
with any collector's admin credential (one shared credentials table).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.batches import STORED_RESULTS_SQL, stored_results
from tests.scaleout.cluster import Cluster, EventWatch, LoadProbe, poll, start_cluster
from tests.scaleout.pg import create_schema, drop_schema, require_server
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

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

pytest.importorskip("vantage.collector.verdict.engine")

ROUND_S = 2.0
NAMES = ("c0", "c1", "c2")
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")  # AS64500, the AS that gets cut off
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")  # AS64520, the control
PROBE_LOCATIONS = ((64601, "DE"), (64602, "FR"), (64603, "SE"), (64604, "PL"))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_server()
    schema = create_schema("scaleout_")
    try:
        handle = start_cluster(tmp_path, schema, NAMES, "--round-seconds", str(ROUND_S))
        try:
            yield handle
        finally:
            handle.stop()
    finally:
        drop_schema(schema)


def admin(
    cluster: Cluster, on: str, credential_of: str
) -> tuple[admin_service_pb2_grpc.AdminServiceStub, object]:
    """An AdminService stub on collector `on`, authenticated with `credential_of`'s admin credential."""
    target = cluster.collectors[on]
    metadata = bearer_metadata(
        read_credential_file(cluster.collectors[credential_of].data_dir / "admin.credential")
    )
    return admin_service_pb2_grpc.AdminServiceStub(grpc.insecure_channel(target.address)), metadata


def set_up_fleet(cluster: Cluster, failing: set[str]) -> list[LoadProbe]:
    addresses = [cluster.collectors[name].address for name in NAMES]
    stub, metadata = admin(cluster, "c1", credential_of="c0")
    stub.ImportTargets(
        admin_service_pb2.ImportTargetsRequest(
            targets=[
                admin_service_pb2.TargetSpec(
                    target=address,
                    protocols=[measurement_pb2.PROTOCOL_ICMP],
                    country=country,
                    asn=asn,
                    line=n,
                )
                for n, (address, country, asn) in enumerate(
                    [(a, "KZ", 64500) for a in KZ_TARGETS] + [(a, "NL", 64520) for a in NL_TARGETS], start=2
                )
            ]
        ),
        metadata=metadata,
        timeout=10,
    )
    stub, metadata = admin(cluster, "c2", credential_of="c1")
    listed = stub.ListTargets(admin_service_pb2.ListTargetsRequest(), metadata=metadata, timeout=10)
    target_ids = {t.target: t.id for t in listed.targets}
    assert set(target_ids) == set(KZ_TARGETS + NL_TARGETS)
    probes = []
    for n, (asn, country) in enumerate(PROBE_LOCATIONS):
        home = NAMES[n % len(NAMES)]
        stub, metadata = admin(cluster, home, credential_of=NAMES[(n + 1) % len(NAMES)])
        token = stub.CreateEnrollmentToken(
            admin_service_pb2.CreateEnrollmentTokenRequest(name=f"load-{n}"), metadata=metadata, timeout=10
        ).token
        with grpc.insecure_channel(cluster.collectors[home].address) as channel:
            enrolled = probe_service_pb2_grpc.ProbeServiceStub(channel).Enroll(
                probe_service_pb2.EnrollRequest(enrollment_token=token, name=f"load-{n}"), timeout=10
            )
        stub, metadata = admin(cluster, NAMES[(n + 2) % len(NAMES)], credential_of=home)
        stub.PinProbeLocation(
            admin_service_pb2.PinProbeLocationRequest(probe_id=enrolled.probe_id, asn=asn, country=country),
            metadata=metadata,
            timeout=10,
        )
        start = n % len(addresses)
        probes.append(
            LoadProbe(
                probe_id=enrolled.probe_id,
                credential=enrolled.credential,
                addresses=addresses[start:] + addresses[:start],  # spread: each probe has its own home
                target_ids=target_ids,
                round_seconds=ROUND_S,
                failing=lambda address: address in failing,
                db_url=cluster.db_url,
            )
        )
    return probes


def query_all(address: str) -> dict[str, object]:
    """Every query a user makes, from one collector (fields that depend on the asking collector left out)."""
    with grpc.insecure_channel(address) as channel:
        stub = query_service_pb2_grpc.QueryServiceStub(channel)
        timeline = query_service_pb2.GetTimelineRequest(asn=64500)
        timeline.since.FromSeconds(0)
        timeline.until.FromSeconds(4_000_000_000)
        probes = stub.ListProbes(query_service_pb2.ListProbesRequest(), timeout=10).probes
        shown = stub.GetTimeline(timeline, timeout=10)
        shown.ClearField("as_of")  # the time the question was answered, not what is known
        return {
            "as": stub.ListAsStatus(query_service_pb2.ListAsStatusRequest(), timeout=10),
            "as64500": stub.GetAsStatus(query_service_pb2.GetAsStatusRequest(asn=64500), timeout=10),
            "kz": stub.GetCountryStatus(query_service_pb2.GetCountryStatusRequest(country="KZ"), timeout=10),
            "timeline": shown,
            "probes": sorted((p.probe_id, p.asn, p.country, p.results_received) for p in probes),
        }


@pytest.fixture
def watches(cluster: Cluster) -> Iterator[dict[str, EventWatch]]:
    """A WatchEvents stream on every collector, for KZ."""
    opened = {name: EventWatch(c.address, "KZ") for name, c in cluster.collectors.items()}
    try:
        yield opened
    finally:
        for watch in opened.values():
            watch.close()


def test_leader_killed_mid_round_loses_and_duplicates_nothing(
    cluster: Cluster, watches: dict[str, EventWatch]
) -> None:
    failing: set[str] = set()
    probes = set_up_fleet(cluster, failing)
    stop = threading.Event()
    threads = [threading.Thread(target=p.run, args=(stop,), daemon=True) for p in probes]
    try:
        for thread in threads:
            thread.start()
        # Let two rounds be computed with results in them, then find the leader.
        first_round = poll(cluster.computed_rounds, timeout_s=30, what="a first computed round")[0][0]
        poll(lambda: len(cluster.computed_rounds()) >= 3, timeout_s=30, what="three computed rounds")
        leader = cluster.computed_rounds()[-1][1]
        # Kill it with -9 in the middle of a round, under load.
        poll(
            lambda: 0.8 <= time.time() % ROUND_S <= 1.2,
            timeout_s=5,
            what="the middle of a round",
            interval_s=0.01,
        )
        kill_round = int(time.time() // ROUND_S)
        cluster.collectors[leader].process.send_signal(signal.SIGKILL)
        cluster.collectors[leader].process.wait(timeout=10)
        survivors = sorted(cluster.alive())
        failing.update(KZ_TARGETS)  # now AS64500 is cut off
        # Both survivors (the new leader directly, the follower through its relay) stream the outage.
        poll(
            lambda: all(
                any(
                    e.kind == query_service_pb2.EVENT_KIND_OUTAGE and e.asn == 64500
                    for e in watches[n].events
                )
                for n in survivors
            ),
            timeout_s=60,
            what="the AS64500 outage event on both surviving collectors",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for probe in probes:
            probe.close()
    for probe in probes:
        assert probe.error is None, f"load probe {probe.probe_id} failed: {probe.error!r}"
    last_round = max(int(time.time() // ROUND_S), kill_round)
    poll(
        lambda: cluster.computed_rounds()[-1][0] >= last_round + 1,
        timeout_s=30,
        what="the rounds after the last upload to be computed",
    )

    # No acked result lost, nothing stored twice.
    sent = [b for p in probes for b in p.sent]
    all_ids = {i for b in sent for i in b.ids}
    stored = {m.id for _, m in stored_results(cluster.sql(STORED_RESULTS_SQL))}
    assert stored == all_ids, (
        f"{len(all_ids - stored)} acked results missing, {len(stored - all_ids)} unknown"
    )
    assert sum(len(b.ids) for b in sent) == len(all_ids)  # ids are unique by construction
    for batch in sent:
        (_, ack), *_ = batch.acks
        assert not ack.rejected and ack.accepted + ack.duplicates == len(batch.ids), (batch.batch_id, ack)
    accepted = sum(ack.accepted for b in sent for _, ack in b.acks)
    in_flight_at_kill = sum(1 for b in sent if b.failed_attempts)
    # Rows committed by the dying leader whose ack never left show up as duplicates of the resend.
    assert accepted <= len(stored) and len(stored) - accepted <= in_flight_at_kill * len(sent[0].ids)
    resends = [ack for p in probes for _, ack in p.resends]
    assert resends and all(ack.accepted == 0 and ack.duplicates > 0 for ack in resends)
    received = cluster.sql("SELECT SUM(results_received) FROM probes")[0][0]
    assert received == len(stored)
    assert any(b.failed_attempts for b in sent), "no probe was sending to the killed leader"

    # Every round from the first to the last computed exactly once; the survivors took over.
    rounds = cluster.computed_rounds()
    numbers = [n for n, _ in rounds]
    assert numbers == list(range(first_round, numbers[-1] + 1)), f"rounds skipped: {numbers}"
    assert all(by in survivors for n, by in rounds if n >= kill_round), rounds
    assert {by for n, by in rounds if n < kill_round - 1} == {leader}
    uncomputed = cluster.sql(
        "SELECT number FROM rounds WHERE computed_at IS NULL AND number <= %s", (numbers[-1],)
    )
    assert uncomputed == []

    # The killed collector's watch stream ended; both survivors answer every query the same way.
    assert watches[leader].ended is not None

    def agreeing() -> bool:
        before = query_all(cluster.collectors[survivors[0]].address)
        other = query_all(cluster.collectors[survivors[1]].address)
        after = query_all(cluster.collectors[survivors[0]].address)
        return before == after == other  # equal unless a round was stored in between

    poll(agreeing, timeout_s=20, what="both collectors to answer every query identically", interval_s=0.3)
    status = query_all(cluster.collectors[survivors[1]].address)["as64500"]
    assert isinstance(status, query_service_pb2.AsStatus) and status.status == query_service_pb2.STATUS_DOWN
