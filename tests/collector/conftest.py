"""Fixtures: a real `vantage collector serve` process on loopback with a real SQLite file."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.v1 import admin_service_pb2, admin_service_pb2_grpc, probe_service_pb2, probe_service_pb2_grpc

VANTAGE = [sys.executable, "-m", "vantage.cli"]
START_TIMEOUT_S = 30.0


@dataclass
class CollectorProcess:
    process: subprocess.Popen[str]
    address: str
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.address)

    @property
    def admin_metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer_metadata(read_credential_file(self.data_dir / "admin.credential"))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


# The documentation and loopback ranges the tests' targets use are special-purpose: the
# collector refuses them unless opened (collector/service/address_guard.py). No packet is ever
# sent to them by these tests (no probe measures the plans they read).
TEST_RANGES = ("127.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "::1/128")


def start_collector(
    data_dir: Path, *extra: str, listen: str = "127.0.0.1:0", open_ranges: Sequence[str] = TEST_RANGES
) -> CollectorProcess:
    """Start a collector and wait (bounded) for its `collector listening on` line."""
    opened = [arg for cidr in open_ranges for arg in ("--allow-range", cidr)]
    args = [*VANTAGE, "collector", "serve", "--listen", listen, "--data-dir", str(data_dir), *opened, *extra]
    if "--tls-cert" not in extra:
        args.append("--plaintext")
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    collected: list[str] = []

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            collected.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith("collector listening on "):
            address = line.split("collector listening on ", 1)[1].strip()
            return CollectorProcess(process=process, address=address, data_dir=data_dir, lines=collected)
    process.kill()
    process.wait(timeout=10)
    raise RuntimeError("collector did not start:\n" + "".join(collected))


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    handle = start_collector(tmp_path / "collector", "--round-seconds", "3600")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def create_token(
    collector: CollectorProcess, *, name: str = "test", expires_in_s: float | None = None
) -> str:
    request = admin_service_pb2.CreateEnrollmentTokenRequest(name=name)
    if expires_in_s is not None:
        request.expires_at.FromNanoseconds(int((time.time() + expires_in_s) * 1e9))
    with collector.channel() as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        return stub.CreateEnrollmentToken(request, metadata=collector.admin_metadata, timeout=10).token


def enroll(collector: CollectorProcess, token: str | None = None) -> probe_service_pb2.EnrollResponse:
    token = token or create_token(collector)
    with collector.channel() as channel:
        stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        return stub.Enroll(
            probe_service_pb2.EnrollRequest(
                enrollment_token=token,
                name="probe-test",
                software_version="test",
                capabilities=probe_service_pb2.ProbeCapabilities(icmp=True),
            ),
            timeout=10,
        )
