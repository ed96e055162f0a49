"""Issue 19 (6): enrollment that survives a crash between Enroll's answer and the credential file.

The probe saves the credential it proposes before enrolling; the first attempt here is made
with that intent and its answer thrown away (what a crash or a full disk does), then a real
probe process retries with the same token: it gets the same probe back, not "token already
used", and the collector has one probe, not an orphan.
"""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import create_token, start_collector
from tests.probe.daemon.harness import Probe, Processes, poll
from vantage.probe.daemon.credentials import enrollment_intent, load_credential
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc, query_service_pb2, query_service_pb2_grpc


def test_a_retry_after_a_lost_answer_gets_the_same_probe(tmp_path: Path) -> None:
    collector = start_collector(tmp_path / "collector", "--round-seconds", "3600")
    processes = Processes()
    try:
        token = create_token(collector)
        state_dir = tmp_path / "probe-state"
        state_dir.mkdir(mode=0o700)
        proposed = enrollment_intent(state_dir)
        with collector.channel() as channel:
            stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
            first = stub.Enroll(
                probe_service_pb2.EnrollRequest(enrollment_token=token, proposed_credential=proposed),
                timeout=10,
            )
            # Someone else's attempt with the used token is still refused.
            with pytest.raises(grpc.RpcError) as other:
                stub.Enroll(
                    probe_service_pb2.EnrollRequest(
                        enrollment_token=token, proposed_credential="vpc_" + "x" * 43
                    ),
                    timeout=10,
                )
            assert other.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # The answer was lost: no credential file. The probe process retries with the same token.
        assert load_credential(state_dir) is None
        probe = Probe(processes, state_dir, [collector.address], token=token).start()
        saved = poll(lambda: load_credential(state_dir), timeout_s=30, what="the credential saved")
        assert saved.probe_id == first.probe_id
        assert not (state_dir / "enroll_intent.json").exists()
        assert probe.process is not None and probe.process.alive()
        with collector.channel() as channel:
            listed = query_service_pb2_grpc.QueryServiceStub(channel).ListProbes(
                query_service_pb2.ListProbesRequest(), metadata=collector.admin_metadata, timeout=10
            )
        assert [p.probe_id for p in listed.probes] == [first.probe_id]
    finally:
        processes.close()
        collector.stop(signal.SIGKILL)
