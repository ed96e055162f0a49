"""Issue 19 regressions through the real interface: gRPC on loopback against a collector process."""

from __future__ import annotations

import signal
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest

from tests.collector.conftest import CollectorProcess, create_token, enroll, start_collector
from tests.collector.factories import batch, measurement
from tests.collector.service.test_probe_service import stored_ids, submit
from tests.collector.tcp_proxy import TcpProxy
from tests.scaleout import pg
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.service.auth_limit import DEFAULT_MAX_FAILURES
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc

SUBMIT = "/vantage.v1.ProbeService/SubmitResults"


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def submit_raw(
    collector: CollectorProcess, credential: str, payloads: list[bytes]
) -> list[probe_service_pb2.BatchAck]:
    """SubmitResults with hand-made wire bytes (what a hostile probe can send)."""
    acks: list[probe_service_pb2.BatchAck] = []
    with collector.channel() as channel:
        call = channel.stream_stream(
            SUBMIT, request_serializer=None, response_deserializer=probe_service_pb2.BatchAck.FromString
        )
        for ack in call(iter(payloads), metadata=bearer_metadata(credential), timeout=60):
            acks.append(ack)
    return acks


def test_an_8m_item_batch_is_refused_before_it_is_decoded(collector: CollectorProcess) -> None:
    """8 M empty items (16 MB) cost 1.78 GB of collector memory when decoded before counting."""
    enrolled = enroll(collector)
    small = [measurement(enrolled.probe_id) for _ in range(3)]
    before_mb = peak_rss_mb(collector.process.pid)
    empty_items = b"\x12\x00" * 8_000_000
    with pytest.raises(grpc.RpcError) as failure:
        submit_raw(collector, enrolled.credential, [batch("small", small).SerializeToString(), empty_items])
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "more than 5000 measurements" in (failure.value.details() or "")
    peak_mb = peak_rss_mb(collector.process.pid)
    print(f"collector peak RSS: {before_mb:.0f} MB before, {peak_mb:.0f} MB after an 8 M-item batch")
    assert peak_mb - before_mb < 200  # the message itself is 16 MB; decoding it all took 1.7 GB
    assert stored_ids(collector, [m.id for m in small]) == {m.id for m in small}


def test_malformed_wire_bytes_are_invalid_argument(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    with pytest.raises(grpc.RpcError) as failure:
        submit_raw(collector, enrolled.credential, [b"\x12\xff\xff\xff\x0f" + b"\x00" * 20_000])
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_poisoned_numbers_and_huge_strings_are_rejected_per_item(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    probe = enrolled.probe_id
    infinite, huge, zone, detail = (measurement(probe) for _ in range(4))
    infinite.icmp.avg_rtt_ms = float("inf")
    huge.icmp.avg_rtt_ms = 1e308
    zone.target.address = "::1%" + "z" * 1000
    detail.outcome = 2  # a failure, with a 1 MB detail
    detail.failure.kind = "generic_timeout_error"
    detail.failure.detail = "d" * 1_000_000
    fine = measurement(probe)
    (ack,) = submit(collector, enrolled.credential, [batch("b", [infinite, huge, zone, detail, fine])])
    assert ack.accepted == 1
    assert [(r.index, r.field) for r in ack.rejected] == [
        (0, "icmp.avg_rtt_ms"),
        (1, "icmp.avg_rtt_ms"),
        (2, "target.address"),
        (3, ""),  # over 64 KiB encoded: refused from its length, before decoding
    ]
    assert stored_ids(collector, [m.id for m in (infinite, huge, zone, detail, fine)]) == {fine.id}


@pytest.fixture
def century_collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    handle = start_collector(tmp_path / "collector", "--round-seconds", "3600", "--retention", "36500d")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def test_a_start_before_1970_is_one_rejection_not_an_unacked_batch(
    century_collector: CollectorProcess,
) -> None:
    """Issue 19 (9): with retention past 1970 an assertion fired and the batch got UNKNOWN."""
    enrolled = enroll(century_collector)
    before_1970 = measurement(enrolled.probe_id)
    before_1970.started_at.seconds = -100
    fine = measurement(enrolled.probe_id)
    (ack,) = submit(century_collector, enrolled.credential, [batch("b", [before_1970, fine])])
    assert ack.accepted == 1
    assert [(r.index, r.field, r.reason) for r in ack.rejected] == [
        (0, "started_at", probe_service_pb2.REJECT_REASON_MALFORMED)
    ]


def test_data_dir_and_database_files_are_made_private_at_every_start(tmp_path: Path) -> None:
    """Issue 19 (11): an existing data dir stayed as it was, database files were 0644."""
    data_dir = tmp_path / "collector"
    first = start_collector(data_dir, "--round-seconds", "3600")
    first.stop()
    files = [path for path in data_dir.iterdir() if path.name.startswith("collector.sqlite3")]
    assert files
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} <= {0o600}
    data_dir.chmod(0o755)
    for path in files:
        path.chmod(0o644)
    second = start_collector(data_dir, "--round-seconds", "3600")
    try:
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode) for path in data_dir.iterdir() if path.is_file()
        }
        assert set(modes.values()) == {0o600}, modes
    finally:
        second.stop(signal.SIGKILL)


def test_a_database_outage_is_unavailable_for_probe_credentials(tmp_path: Path) -> None:
    """Issue 19 (10): the credential lookup failed with UNKNOWN; docs/ingest.md says UNAVAILABLE."""
    pg.require_server()
    dsn = urlsplit(pg.postgres_dsn())
    proxy = TcpProxy((dsn.hostname or "127.0.0.1", dsn.port or 5432))
    schema = pg.create_schema("outage")
    proxied = urlunsplit(dsn._replace(netloc=f"{dsn.username}:{dsn.password}@127.0.0.1:{proxy.port}"))
    handle = start_collector(
        tmp_path / "collector", "--round-seconds", "3600", "--db", pg.with_search_path(proxied, schema)
    )
    try:
        enrolled = enroll(handle)
        proxy.cut()
        for credential in (enrolled.credential, "vpc_never-issued"):
            with handle.channel() as channel, pytest.raises(grpc.RpcError) as failure:
                probe_service_pb2_grpc.ProbeServiceStub(channel).Heartbeat(
                    probe_service_pb2.HeartbeatRequest(), metadata=bearer_metadata(credential), timeout=60
                )
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, failure.value.details()
    finally:
        handle.stop(signal.SIGKILL)
        proxy.cut()
        pg.drop_schema(schema)


@pytest.fixture
def metered_collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    handle = start_collector(tmp_path / "collector", "--round-seconds", "3600", "--metrics", "127.0.0.1:0")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def metrics_text(collector: CollectorProcess) -> str:
    line = next(line for line in collector.lines if line.startswith("collector metrics on "))
    url = line.split(" on ", 1)[1].strip()
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def heartbeat_code(collector: CollectorProcess, credential: str) -> grpc.StatusCode:
    with collector.channel() as channel:
        try:
            probe_service_pb2_grpc.ProbeServiceStub(channel).Heartbeat(
                probe_service_pb2.HeartbeatRequest(), metadata=bearer_metadata(credential), timeout=10
            )
        except grpc.RpcError as failure:
            return failure.code()
    return grpc.StatusCode.OK


def test_guessing_from_one_address_is_limited_and_enrolled_probes_are_not(
    metered_collector: CollectorProcess,
) -> None:
    """Issue 19 (3): ~750 probe, 800 enrollment and 970 admin guesses a second were answered."""
    collector = metered_collector
    enrolled = enroll(collector)
    assert heartbeat_code(collector, enrolled.credential) is grpc.StatusCode.OK
    codes = [heartbeat_code(collector, f"vpc_guess-{n}") for n in range(DEFAULT_MAX_FAILURES)]
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED}
    assert heartbeat_code(collector, "vpc_guess-next") is grpc.StatusCode.RESOURCE_EXHAUSTED
    with collector.channel() as channel, pytest.raises(grpc.RpcError) as enrollment:
        probe_service_pb2_grpc.ProbeServiceStub(channel).Enroll(
            probe_service_pb2.EnrollRequest(enrollment_token="vet_guess"), timeout=10
        )
    assert enrollment.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The probe that authenticated before, from the same address, goes on as ever; so does the
    # admin (its credential authenticated when the test created the enrollment token).
    for _ in range(3):
        assert heartbeat_code(collector, enrolled.credential) is grpc.StatusCode.OK
    create_token(collector)
    text = metrics_text(collector)
    assert f'vantage_auth_failures_total{{kind="probe"}} {float(DEFAULT_MAX_FAILURES)}' in text
    assert 'vantage_auth_throttled_total{kind="probe"} 1.0' in text
    assert 'vantage_auth_throttled_total{kind="enrollment"} 1.0' in text
