"""End to end: a real `vantage collector serve --metrics`, fed over gRPC as probes would feed it,
scraped by a real Prometheus that fires VantageAsDown when the measured AS goes dark.

Three probes (pinned to three ASes) measure four addresses in AS64500 and four in
AS64501 every 2-second round. While everything answers, the collector's verdict
for AS64500 is UP; then AS64500's addresses stop answering (AS64501's still do,
so the probes are not the ones that are offline) and the verdict engine, the
collector's metrics and the alert rules must all agree that AS64500 is down.
"""

from __future__ import annotations

import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.collector.issued import icmp_answer, icmp_task, issue
from tests.collector.metrics.prometheus_harness import PrometheusServer, free_port, running_prometheus
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    probe_service_pb2,
    probe_service_pb2_grpc,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

ROUND_S = 2
DOWN_AS = (64500, "KZ", [f"198.51.100.{n}" for n in range(1, 5)])
CONTROL_AS = (64501, "KZ", [f"203.0.113.{n}" for n in range(1, 5)])
PROBE_LOCATIONS = ((64610, "DE"), (64620, "NL"), (64630, "FR"))
START_TIMEOUT_S = 30.0


@dataclass
class Collector:
    process: subprocess.Popen[str]
    address: str
    metrics_port: int
    data_dir: Path
    log: list[str]

    def admin_metadata(self) -> tuple[tuple[str, str]]:
        credential = (self.data_dir / "admin.credential").read_text().splitlines()[0].strip()
        return (("authorization", f"Bearer {credential}"),)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    asn_db = tmp_path / "asn.tsv"  # iptoasn format: start, end, ASN, country, name
    asn_db.write_text(
        "198.51.100.0\t198.51.100.255\t64500\tKZ\tKAZ-EXAMPLE Example Telecom\n"
        "203.0.113.0\t203.0.113.255\t64501\tKZ\tKZ-CONTROL Example Control\n"
    )
    metrics_port = free_port()
    data_dir = tmp_path / "collector"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "vantage.cli", "collector", "serve"),
            *("--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--plaintext"),
            *(
                "--metrics",
                f"127.0.0.1:{metrics_port}",
                "--round-seconds",
                str(ROUND_S),
                "--asn-db",
                str(asn_db),
            ),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log: list[str] = []
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        address = _wait_for_listening(process, lines)
        yield Collector(process, address, metrics_port, data_dir, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for_listening(process: subprocess.Popen[str], lines: queue.Queue[str]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    seen: list[str] = []
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith("collector listening on "):
            return line.removeprefix("collector listening on ").strip()
    pytest.fail("collector did not start:\n" + "".join(seen))


def enroll_pinned_probes(collector: Collector, channel: grpc.Channel) -> list[tuple[str, str]]:
    """Enroll one probe per location and pin it there; their ids and credentials."""
    admin = admin_service_pb2_grpc.AdminServiceStub(channel)
    probes = probe_service_pb2_grpc.ProbeServiceStub(channel)
    credentials = []
    for asn, country in PROBE_LOCATIONS:
        token = admin.CreateEnrollmentToken(
            admin_service_pb2.CreateEnrollmentTokenRequest(name=f"probe-{asn}"),
            metadata=collector.admin_metadata(),
            timeout=10,
        ).token
        enrolled = probes.Enroll(
            probe_service_pb2.EnrollRequest(
                enrollment_token=token,
                name=f"probe-{asn}",
                software_version="test",
                capabilities=probe_service_pb2.ProbeCapabilities(icmp=True),
            ),
            timeout=10,
        )
        admin.PinProbeLocation(
            admin_service_pb2.PinProbeLocationRequest(probe_id=enrolled.probe_id, asn=asn, country=country),
            metadata=collector.admin_metadata(),
            timeout=10,
        )
        credentials.append((enrolled.probe_id, enrolled.credential))
    return credentials


class FakeFleet:
    """Submits one round of measurements per probe for each round it has not covered yet."""

    def __init__(self, channel: grpc.Channel, probes: list[tuple[str, str]], database: Path) -> None:
        self._stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        self._database = database  # the collector's SQLite file: the tasks it issued
        self._probes = probes
        self._last_round = -1
        self.down = False

    def submit_current_round(self) -> None:
        round_number = math.floor(time.time() / ROUND_S)
        if round_number == self._last_round:
            return
        self._last_round = round_number
        for probe_id, credential in self._probes:
            metadata = (("authorization", f"Bearer {credential}"),)
            batch = probe_service_pb2.ResultBatch(
                batch_id=str(uuid.uuid4()),
                measurements=[
                    icmp_answer(
                        icmp_task(address, f"t-{address}"),
                        probe_id,
                        round_number,
                        answered=not (self.down and asn == DOWN_AS[0]),
                        rtt_ms=40.0,
                    )
                    for asn, _, addresses in (DOWN_AS, CONTROL_AS)
                    for address in addresses
                ],
            )
            storage = SqliteStorage(self._database)
            try:
                issue(storage, batch.measurements)
            finally:
                storage.close()
            acks = list(self._stub.SubmitResults(iter([batch]), metadata=metadata, timeout=10))
            assert [(a.accepted, len(a.rejected)) for a in acks] == [(8, 0)], acks


def as_status(prometheus: PrometheusServer, fleet: FakeFleet, wanted: str) -> bool:
    fleet.submit_current_round()
    result = prometheus.query(f'vantage_as_status{{asn="{DOWN_AS[0]}",country="{DOWN_AS[1]}"}}')
    return bool(result) and result[0]["value"][1] == wanted


def test_prometheus_alerts_when_the_collector_sees_an_as_go_down(
    tmp_path: Path, collector: Collector
) -> None:
    with grpc.insecure_channel(collector.address) as channel:
        database = collector.data_dir / "collector.sqlite3"
        fleet = FakeFleet(channel, enroll_pinned_probes(collector, channel), database)
        fleet.submit_current_round()
        target = f"127.0.0.1:{collector.metrics_port}"
        with running_prometheus(tmp_path / "prometheus", {"vantage-collector": target}) as prometheus:
            try:
                prometheus.wait_for("AS64500 UP in Prometheus", lambda: as_status(prometheus, fleet, "1"), 30)
                assert prometheus.firing("VantageAsDown") == []
                rounds = prometheus.query("vantage_rounds_total")
                assert rounds and float(rounds[0]["value"][1]) >= 1
                accepted = prometheus.query("vantage_results_accepted_total")
                assert accepted and float(accepted[0]["value"][1]) >= 24
                alive = prometheus.query('vantage_probes{state="alive"}')
                assert alive and alive[0]["value"][1] == "3"
                assert prometheus.query('vantage_grpc_requests_total{method="SubmitResults",code="OK"}')

                fleet.down = True

                def alert_fired() -> list[dict[str, str]]:
                    fleet.submit_current_round()
                    return prometheus.firing("VantageAsDown")

                firing = prometheus.wait_for("VantageAsDown", alert_fired, 40)
            except BaseException:
                print("collector log:\n" + "".join(collector.log[-60:]))
                raise
            assert [(a["asn"], a["country"]) for a in firing] == [("64500", "KZ")]
            # The evidence behind it, as Prometheus stored it.
            timeouts = prometheus.query(
                'vantage_as_failures{asn="64500",failure="generic_timeout_error",protocol="icmp"}'
            )
            assert timeouts and float(timeouts[0]["value"][1]) > 0
            info = prometheus.query('vantage_as_info{asn="64500"}')
            assert info and "Example Telecom" in info[0]["metric"]["name"]  # from the ASN dataset
            control = prometheus.query('vantage_as_status{asn="64501"}')
            assert control and control[0]["value"][1] == "1"
