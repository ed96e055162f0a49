"""TLS: a collector with a certificate from a test CA; clients verify it (openssl makes the CA)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import VANTAGE, CollectorProcess, start_collector
from vantage.v1 import probe_service_pb2, probe_service_pb2_grpc, query_service_pb2, query_service_pb2_grpc

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
# EC keys: generated in milliseconds, unlike RSA.
NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> None:
    openssl("req", "-x509", *NEW_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "2", "-subj", f"/CN={name}", cwd=folder)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    make_ca(folder, "ca")
    make_ca(folder, "other-ca")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", *NEW_KEY, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=folder)  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=folder)  # fmt: skip
    return folder


@pytest.fixture
def tls_collector(tmp_path: Path, pki: Path) -> Iterator[CollectorProcess]:
    handle = start_collector(
        tmp_path / "collector",
        "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
        "--round-seconds", "3600",
    )  # fmt: skip
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def test_client_with_the_ca_talks_tls(tls_collector: CollectorProcess, pki: Path) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.pem").read_bytes())
    with grpc.secure_channel(tls_collector.address, credentials) as channel:
        response = query_service_pb2_grpc.QueryServiceStub(channel).ListProbes(
            query_service_pb2.ListProbesRequest(), timeout=10
        )
    assert list(response.probes) == []
    token = subprocess.run(
        [*VANTAGE, "collector", "token", "create", "--collector", tls_collector.address,
         "--ca-file", str(pki / "ca.pem"), "--data-dir", str(tls_collector.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    with grpc.secure_channel(tls_collector.address, credentials) as channel:
        enrolled = probe_service_pb2_grpc.ProbeServiceStub(channel).Enroll(
            probe_service_pb2.EnrollRequest(enrollment_token=token), timeout=10
        )
    assert enrolled.credential


@pytest.mark.parametrize("client", ["plaintext", "other-ca"])
def test_client_without_the_right_trust_is_refused(
    tls_collector: CollectorProcess, pki: Path, client: str
) -> None:
    if client == "plaintext":
        channel = grpc.insecure_channel(tls_collector.address)
    else:
        channel = grpc.secure_channel(
            tls_collector.address,
            grpc.ssl_channel_credentials(root_certificates=(pki / "other-ca.pem").read_bytes()),
        )
    with channel, pytest.raises(grpc.RpcError) as failure:
        query_service_pb2_grpc.QueryServiceStub(channel).ListProbes(
            query_service_pb2.ListProbesRequest(), timeout=5
        )
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


def test_serve_needs_tls_or_an_explicit_plaintext(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "vantage.cli", "collector", "serve", "--data-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert finished.returncode == 2
    assert "--plaintext" in finished.stderr
