"""The probe daemon as real processes against a real collector, on loopback.

Targets are TCP on 127.0.0.x (a listener on 127.0.0.1; the other addresses
answer with a reset, which is a result too), opened with --allow-range: nothing
leaves this machine. Rounds are 2 s long; every wait is a bounded poll.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.probe.daemon.pool import rendezvous_order
from vantage.probe.daemon.wire import id_names_task

from .harness import Collector, Probe, Processes, free_port, poll

pytestmark = pytest.mark.slow

TARGETS = 6  # 127.0.0.1 .. 127.0.0.6
REFUSED_TARGET = "127.0.0.9"  # outside the allowed 127.0.0.0/29


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    try:
        yield started
    finally:
        started.close()


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
def collector(tmp_path: Path, processes: Processes, listener: int) -> Collector:
    data_dir = tmp_path / "collector"
    data_dir.mkdir()
    collector = Collector(processes, data_dir, free_port()).start()
    # One AS per target: the collector measures at most a few targets per AS each round.
    rows = [f"127.0.0.{n},tcp,KZ,{64500 + n},port:{listener}" for n in range(2, TARGETS + 1)]
    # ICMP too (as root: a raw socket; elsewhere an unprivileged ICMP socket, or a
    # failure that says ICMP is unavailable — a reported result either way).
    rows.insert(0, f"127.0.0.1,tcp;icmp,KZ,64501,port:{listener}")
    rows.append(f"{REFUSED_TARGET},tcp,KZ,64599,port:{listener}")
    collector.import_targets("target,protocols,country,asn,tags\n" + "\n".join(rows) + "\n")
    return collector


def make_probe(tmp_path: Path, processes: Processes, collector: Collector, *extra: str) -> Probe:
    state_dir = tmp_path / "probe-state"
    return Probe(
        processes,
        state_dir,
        [collector.address],
        collector.token(),
        ["--allow-range", "127.0.0.0/29", *extra],
    )


def assert_exactly_once(collector: Collector, probe_id: str) -> None:
    rows = [row for row in collector.measurements() if row[1] == probe_id]
    per_task = Counter((round_number, task_id) for _, _, round_number, task_id, _, _ in rows)
    assert per_task and max(per_task.values()) == 1, "a task has more than one stored result"
    for mid, _, round_number, task_id, _, _ in rows:
        assert id_names_task(mid, probe_id, round_number, task_id)


def wait_for_rounds(collector: Collector, probe_id: str, rounds: int, timeout_s: float = 30.0) -> None:
    def enough() -> bool:
        return len({row[2] for row in collector.measurements() if row[1] == probe_id}) >= rounds

    poll(enough, timeout_s=timeout_s, what=f"results of {rounds} rounds at the collector")


def test_collector_down_then_back_every_result_arrives_once(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    probe = make_probe(tmp_path, processes, collector).start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    probe_id = probe.probe_id()
    wait_for_rounds(collector, probe_id, 1)

    collector.stop()
    # Offline: the probe keeps measuring (repeating the last plan) and keeps results.
    poll(lambda: probe.metric("vantage_probe_offline_rounds_total") >= 2, timeout_s=30, what="offline rounds")
    poll(lambda: probe.metric("vantage_probe_outbox_depth") > 0, timeout_s=10, what="results held offline")
    held = probe.outbox_ids()
    assert held

    collector.start()
    poll(lambda: held <= collector.stored_ids(), timeout_s=60, what="every held result at the collector")
    assert_exactly_once(collector, probe_id)

    # Every protocol answered on loopback: the listener (TCP) and the kernel (ICMP).
    ok_protocols = {row[3] for row in collector.measurements_by_protocol() if row[4] == 1}
    assert 4 in ok_protocols  # TCP
    if os.geteuid() == 0:
        assert 1 in ok_protocols  # ICMP over a raw socket

    # Refused targets are reported, not skipped.
    refused = [row for row in collector.measurements() if row[4] == 4]
    assert refused and all(row[5] == "refused_by_policy" for row in refused)

    # Bounded labels only: no target address in any series.
    exposition = probe.metrics_text()
    assert "vantage_probe_build_info{" in exposition
    assert "127.0.0." not in exposition

    assert probe.process.terminate() == 0
    assert "probe stopped cleanly" in probe.log()
    assert probe.log().count("probe enrolled as") == 1


def test_kill_9_mid_upload_then_restart_delivers_everything_once(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    # Small batches so that uploads are nearly always in progress.
    probe = make_probe(tmp_path, processes, collector, "--batch-size", "2").start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    probe_id = probe.probe_id()
    committed: set[str] = set()
    for cycle in range(3):
        wait_for_rounds(collector, probe_id, cycle + 1)
        probe.process.kill9()
        committed |= probe.outbox_ids()  # committed, not yet acknowledged when killed
        committed |= {row[0] for row in collector.measurements() if row[1] == probe_id}
        probe.start()
    poll(lambda: committed <= collector.stored_ids(), timeout_s=60, what="every committed result delivered")

    def drained() -> bool:
        return (
            probe.metric("vantage_probe_outbox_depth") == 0
            and probe.metric("vantage_probe_uploads_total") > 0
        )

    poll(drained, timeout_s=30, what="the outbox to drain")
    assert_exactly_once(collector, probe_id)
    assert probe.log().count("probe enrolled as") == 1  # the credential was reused
    assert probe.log().count("using the credential in") == 3
    assert probe.process.terminate() == 0


def test_full_outbox_drops_the_oldest_counted_and_logged(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    probe = make_probe(tmp_path, processes, collector, "--outbox-max-results", "10").start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    probe_id = probe.probe_id()
    wait_for_rounds(collector, probe_id, 1)
    collector.stop()
    # 8 results per round, 10 held at most: the second offline round must drop.
    poll(lambda: probe.metric("vantage_probe_outbox_dropped_total") > 0, timeout_s=30, what="a drop")
    probe.process.wait_log("outbox full (10 results): dropped the")
    assert len(probe.outbox_ids()) <= 10
    # Persisted too: the outbox commits its count before the metric moves, so read the metric first.
    counted = probe.metric("vantage_probe_outbox_dropped_total")
    assert probe.outbox_dropped_total() >= counted > 0
    rounds_held = probe.outbox_rounds()
    newest = max(rounds_held)
    assert rounds_held.count(newest) >= 1 and min(rounds_held) >= newest - 2  # the oldest went first
    collector.start()
    poll(
        lambda: any(row[2] > newest for row in collector.measurements() if row[1] == probe_id),
        timeout_s=60,
        what="uploads to resume after the drops",
    )
    assert_exactly_once(collector, probe_id)
    assert probe.process.terminate() == 0


def test_revoked_credential_backs_off_with_one_clear_log_line(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    probe = make_probe(tmp_path, processes, collector, "--revoked-backoff-seconds", "3600").start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    probe_id = probe.probe_id()
    wait_for_rounds(collector, probe_id, 1)
    collector.admin("collector", "probe", "revoke", probe_id)
    probe.process.wait_log("CREDENTIAL REJECTED")
    # The collector's rounds (2 s) are the clock; the probe would heartbeat every 1 s
    # and fetch work every round if it did not back off. Let the RPCs that were
    # already in flight at the first rejection finish (one round), then count.
    settled = collector.rounds_computed() + 1
    poll(lambda: collector.rounds_computed() >= settled, timeout_s=30, what="one more round")
    lines = probe.log().count("CREDENTIAL REJECTED")
    rejected = probe.metric("vantage_probe_upload_errors_total", {"code": "UNAUTHENTICATED"})
    rounds_before = collector.rounds_computed()
    poll(lambda: collector.rounds_computed() >= rounds_before + 3, timeout_s=30, what="three more rounds")
    assert probe.process.alive()
    assert probe.metric("vantage_probe_offline_rounds_total") == 0  # a revoked probe stops measuring
    assert probe.log().count("CREDENTIAL REJECTED") == lines <= 3  # RPCs already in flight may each say so
    assert probe.metric("vantage_probe_upload_errors_total", {"code": "UNAUTHENTICATED"}) == rejected
    assert "Not retrying for 3600 s" in probe.log()
    assert probe.process.terminate() == 0


def test_a_dead_collector_address_is_failed_over(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    # Choose a dead address that the probe ranks first (rendezvous on its --name
    # before enrollment), so that enrolling must fail over to the live collector.
    name = "vtpd-failover"
    dead = next(
        address
        for address in (f"127.0.0.1:{free_port()}" for _ in range(64))
        if rendezvous_order([address, collector.address], name)[0] == address
    )
    probe = Probe(
        processes,
        tmp_path / "probe-state",
        [dead, collector.address],
        collector.token(),
        ["--allow-range", "127.0.0.0/29", "--name", name],
    ).start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    assert f"collector {dead}: Enroll failed with UNAVAILABLE" in probe.log()
    wait_for_rounds(collector, probe.probe_id(), 2)
    assert_exactly_once(collector, probe.probe_id())
    assert probe.process.terminate() == 0


def test_two_collectors_on_one_database_fail_over_and_back(
    tmp_path: Path, processes: Processes, collector: Collector
) -> None:
    # A second collector process on the same database (SQLite WAL here; PostgreSQL in
    # production): any collector accepts any probe, so the probe may use either.
    second = Collector(processes, collector.data_dir, free_port(), log_name="collector-2.log").start()
    probe = Probe(
        processes,
        tmp_path / "probe-state",
        [collector.address, second.address],
        collector.token(),
        ["--allow-range", "127.0.0.0/29"],
    ).start()
    assert probe.process is not None
    probe.process.wait_log("probe enrolled as")
    probe_id = probe.probe_id()
    wait_for_rounds(collector, probe_id, 1)
    preferred_address = rendezvous_order([collector.address, second.address], probe_id)[0]
    preferred, other = (collector, second) if preferred_address == collector.address else (second, collector)
    assert preferred.process is not None
    preferred.process.kill9()
    rounds_before = len({row[2] for row in collector.measurements() if row[1] == probe_id})
    wait_for_rounds(collector, probe_id, rounds_before + 2)  # delivered through the other one
    assert f"collector {preferred.address}:" in probe.log()
    preferred.start()
    wait_for_rounds(collector, probe_id, rounds_before + 3)
    # Nothing dropped and the outbox empty: everything written was acked, i.e. committed.
    poll(lambda: not probe.outbox_ids(), timeout_s=30, what="the outbox to drain")
    assert probe.metric("vantage_probe_outbox_dropped_total") == 0
    assert_exactly_once(collector, probe_id)
    assert probe.process.terminate() == 0
    assert other.process is not None and other.process.alive()
