"""ProbeService over real gRPC on loopback against a real collector process and SQLite file."""

from __future__ import annotations

import stat
import time
import uuid

import grpc
import pytest

from tests.collector.conftest import CollectorProcess, create_token, enroll
from tests.collector.factories import batch, measurement
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc, probe_service_pb2, probe_service_pb2_grpc


def probe_stub(channel: grpc.Channel) -> probe_service_pb2_grpc.ProbeServiceStub:
    return probe_service_pb2_grpc.ProbeServiceStub(channel)


def submit(
    collector: CollectorProcess, credential: str, batches: list[probe_service_pb2.ResultBatch]
) -> list:
    with collector.channel() as channel:
        return list(
            probe_stub(channel).SubmitResults(iter(batches), metadata=bearer_metadata(credential), timeout=30)
        )


def stored_ids(collector: CollectorProcess, ids: list[str]) -> set[str]:
    storage = SqliteStorage(collector.data_dir / "collector.sqlite3")
    try:
        return storage.stored_measurement_ids(ids)
    finally:
        storage.close()


def test_data_dir_and_admin_credential_are_private(collector: CollectorProcess) -> None:
    assert stat.S_IMODE(collector.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((collector.data_dir / "admin.credential").stat().st_mode) == 0o600


def test_enroll_returns_a_working_credential(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    uuid.UUID(enrolled.probe_id)
    assert enrolled.credential.startswith("vpc_")
    with collector.channel() as channel:
        plan = probe_stub(channel).GetWork(
            probe_service_pb2.GetWorkRequest(software_version="test"),
            metadata=bearer_metadata(enrolled.credential),
            timeout=10,
        )
        assert plan.round > 0
        assert plan.round_length.seconds == 3600
        assert plan.clock_skew_tolerance.seconds == 300
        beat = probe_stub(channel).Heartbeat(
            probe_service_pb2.HeartbeatRequest(software_version="test"),
            metadata=bearer_metadata(enrolled.credential),
            timeout=10,
        )
        assert beat.next_heartbeat.seconds > 0


def test_token_is_one_time(collector: CollectorProcess) -> None:
    token = create_token(collector)
    enroll(collector, token)
    with pytest.raises(grpc.RpcError) as failure:
        enroll(collector, token)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already used" in (failure.value.details() or "")


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
def test_unknown_tokens_are_unauthenticated(collector: CollectorProcess, token: str) -> None:
    with collector.channel() as channel, pytest.raises(grpc.RpcError) as failure:
        probe_stub(channel).Enroll(probe_service_pb2.EnrollRequest(enrollment_token=token), timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_expired_token_is_unauthenticated(collector: CollectorProcess) -> None:
    expires_at = time.time() + 0.5
    token = create_token(collector, expires_in_s=0.5)
    while time.time() < expires_at + 0.2:  # same host clock as the collector's
        time.sleep(0.05)
    with pytest.raises(grpc.RpcError) as failure:
        enroll(collector, token)
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (failure.value.details() or "")


@pytest.mark.parametrize("credential", [None, "", "wrong-credential"])
def test_probe_calls_need_a_known_credential(collector: CollectorProcess, credential: str | None) -> None:
    metadata = () if credential is None else (("authorization", f"Bearer {credential}"),)
    with collector.channel() as channel:
        for call in (
            lambda: probe_stub(channel).GetWork(
                probe_service_pb2.GetWorkRequest(), metadata=metadata, timeout=10
            ),
            lambda: probe_stub(channel).Heartbeat(
                probe_service_pb2.HeartbeatRequest(), metadata=metadata, timeout=10
            ),
            lambda: list(probe_stub(channel).SubmitResults(iter([]), metadata=metadata, timeout=10)),
        ):
            with pytest.raises(grpc.RpcError) as failure:
                call()
            assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_revoked_probe_is_unauthenticated(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    with collector.channel() as channel:
        admin_service_pb2_grpc.AdminServiceStub(channel).RevokeProbe(
            admin_service_pb2.RevokeProbeRequest(probe_id=enrolled.probe_id),
            metadata=collector.admin_metadata,
            timeout=10,
        )
        with pytest.raises(grpc.RpcError) as failure:
            probe_stub(channel).GetWork(
                probe_service_pb2.GetWorkRequest(), metadata=bearer_metadata(enrolled.credential), timeout=10
            )
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in (failure.value.details() or "")


def test_batches_are_acked_and_stored_once(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    first = [measurement(enrolled.probe_id) for _ in range(50)]
    second = [measurement(enrolled.probe_id) for _ in range(30)]
    acks = submit(collector, enrolled.credential, [batch("b1", first), batch("b2", second)])
    assert [(a.batch_id, a.accepted, a.duplicates, len(a.rejected)) for a in acks] == [
        ("b1", 50, 0, 0),
        ("b2", 30, 0, 0),
    ]
    # Resending the same batches (as after a lost ack) stores nothing twice.
    again = submit(collector, enrolled.credential, [batch("b1", first), batch("b2", second + first[:5])])
    assert [(a.accepted, a.duplicates) for a in again] == [(0, 50), (0, 35)]
    ids = [m.id for m in first + second]
    assert stored_ids(collector, ids) == set(ids)
    storage = SqliteStorage(collector.data_dir / "collector.sqlite3")
    try:
        assert storage.count_measurements() == 80
        probe = storage.get_probe(enrolled.probe_id)
        assert probe is not None and probe.results_received == 80
    finally:
        storage.close()


def test_bad_items_reject_only_themselves(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    other = enroll(collector)
    pid = enrolled.probe_id
    good = [measurement(pid) for _ in range(3)]
    items = [
        good[0],
        measurement(pid, measurement_id="not-a-uuid"),
        measurement(pid, address="192.0.2.300"),
        measurement(other.probe_id),
        good[1],
        measurement(pid, protocol=9),
        measurement(pid, outcome=2, failure="made_up_failure"),
        measurement(pid, started_at=time.time() + 3600),
        measurement(pid, started_at=time.time() - 400 * 86400),
        good[2],
    ]
    (ack,) = submit(collector, enrolled.credential, [batch("mixed", items)])
    assert ack.accepted == 3
    rejected = {(r.index, r.field, probe_service_pb2.RejectReason.Name(r.reason)) for r in ack.rejected}
    assert rejected == {
        (1, "id", "REJECT_REASON_BAD_ID"),
        (2, "target.address", "REJECT_REASON_BAD_ADDRESS"),
        (3, "probe_id", "REJECT_REASON_WRONG_PROBE"),
        (5, "protocol", "REJECT_REASON_UNKNOWN_PROTOCOL"),
        (6, "failure.kind", "REJECT_REASON_UNKNOWN_FAILURE"),
        (7, "started_at", "REJECT_REASON_TIMESTAMP_IN_FUTURE"),
        (8, "started_at", "REJECT_REASON_TIMESTAMP_TOO_OLD"),
    }
    assert all(r.message for r in ack.rejected)
    assert stored_ids(collector, [m.id for m in items]) == {m.id for m in good}
    # The impersonated probe got nothing.
    assert stored_ids(collector, [items[3].id]) == set()


def test_oversized_batch_is_resource_exhausted_and_earlier_batches_kept(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    small = [measurement(enrolled.probe_id) for _ in range(10)]
    huge = [measurement(enrolled.probe_id) for _ in range(5001)]
    acks = []
    with collector.channel() as channel, pytest.raises(grpc.RpcError) as failure:
        for ack in probe_stub(channel).SubmitResults(
            iter([batch("small", small), batch("huge", huge)]),
            metadata=bearer_metadata(enrolled.credential),
            timeout=30,
        ):
            acks.append(ack)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [a.batch_id for a in acks] == ["small"]
    assert stored_ids(collector, [m.id for m in small]) == {m.id for m in small}


def test_oversized_message_is_resource_exhausted(collector: CollectorProcess) -> None:
    enrolled = enroll(collector)
    m = measurement(enrolled.probe_id)
    m.dns.abuf = b"x" * (17 * 1024 * 1024)  # above the 16 MiB message limit
    with collector.channel() as channel, pytest.raises(grpc.RpcError) as failure:
        list(
            probe_stub(channel).SubmitResults(
                iter([batch("big", [m])]), metadata=bearer_metadata(enrolled.credential), timeout=30
            )
        )
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
