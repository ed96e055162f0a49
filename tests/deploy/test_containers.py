"""The container images, built from the repository with podman and run as an operator would.

The images are built once per test session (podman's layer cache keeps the
dependency layers between sessions: only the source layers are rebuilt). The
base image is Debian's Python 3.11, made with deploy/container/build-base.sh
(mmdebstrap) so that no container registry is needed; set
VANTAGE_CONTAINER_BASE=docker.io/library/python:3.11-slim-bookworm to build on
the official image instead. Containers use the host's network namespace and
listen on 127.0.0.1 only: nothing leaves the machine. The runtime is runc with
modest ulimits, which also runs where crun cannot (hybrid cgroups) and where
root lacks CAP_SYS_RESOURCE.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

PODMAN = shutil.which("podman")
BASE_IMAGE = os.environ.get("VANTAGE_CONTAINER_BASE", "localhost/vantage-base:3.11-bookworm")
LOCAL_BASE = "localhost/vantage-base:3.11-bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RUN_OPTIONS = ["--runtime", "runc", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=1024:1024"]
PROBE_IMAGE_LIMIT_BYTES = 150_000_000


def podman(*args: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    result = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Images:
    probe: str
    collector: str
    build_s: float


def build(containerfile: str, tag: str) -> None:
    args = [
        "build",
        "--isolation=chroot",
        "--network=host",
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "--file",
        str(REPO_ROOT / "deploy" / "container" / containerfile),
        "--tag",
        tag,
    ]
    # Behind a TLS-intercepting proxy pip needs the system's CA bundle (see the Containerfiles).
    if CA_BUNDLE.is_file():
        args += ["--volume", f"{CA_BUNDLE}:/run/host-ca.crt:ro", "--build-arg", "PIP_CERT=/run/host-ca.crt"]
    podman(*args, str(REPO_ROOT), timeout_s=1200)


@pytest.fixture(scope="session")
def images() -> Images:
    if PODMAN is None:
        pytest.skip("podman is not installed (scripts/setup.sh installs it)")
    if sys.platform != "linux":
        pytest.skip("the images are Linux containers")
    started = time.monotonic()
    if BASE_IMAGE == LOCAL_BASE and podman("image", "exists", LOCAL_BASE, check=False).returncode != 0:
        if shutil.which("mmdebstrap") is None:
            pytest.skip("no base image and no mmdebstrap to make one (scripts/setup.sh installs it)")
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "deploy" / "container" / "build-base.sh")],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert result.returncode == 0, result.stderr[-2000:]
    # Can this machine run a container at all? (A sandbox without namespaces cannot.)
    trial = podman("run", "--rm", *RUN_OPTIONS, BASE_IMAGE, "true", check=False)
    if trial.returncode != 0:
        pytest.skip(f"podman cannot run containers here: {trial.stderr.strip().splitlines()[-1:]}")
    build("Containerfile.probe", "localhost/vantage-probe:test")
    build("Containerfile.collector", "localhost/vantage-collector:test")
    images = Images(
        "localhost/vantage-probe:test", "localhost/vantage-collector:test", time.monotonic() - started
    )
    print(f"\nimages built in {images.build_s:.0f} s", file=sys.stderr)
    return images


def image_size(image: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@dataclass
class Container:
    name: str

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def running(self) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def stop_with_sigterm(self) -> int:
        podman("kill", "--signal", "TERM", self.name)
        return int(podman("wait", self.name, timeout_s=90).stdout.strip())


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    started: list[Container] = []
    yield started
    for container in started:
        podman("rm", "--force", "--time", "0", container.name, check=False)


def run_container(containers: list[Container], image: str, *args: str) -> Container:
    container = Container(f"vantage-test-{uuid.uuid4().hex[:10]}")
    podman("run", "--detach", "--name", container.name, *RUN_OPTIONS, "--network=host", *args)
    containers.append(container)
    return container


def owned_dir(path: Path, uid: int) -> Path:
    if os.geteuid() != 0:
        pytest.skip("a bind-mounted dir can be given to the image's user only by root (rootful podman)")
    path.mkdir(mode=0o700, parents=True)
    os.chown(path, uid, uid)
    return path


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:  # loopback
        return str(response.read().decode())


def sample(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_probe_image_is_small(images: Images) -> None:
    size = image_size(images.probe)
    print(f"\nprobe image {size / 1e6:.0f} MB, collector image {image_size(images.collector) / 1e6:.0f} MB")
    assert size < PROBE_IMAGE_LIMIT_BYTES, f"probe image is {size / 1e6:.0f} MB"


def test_images_run_as_their_users_with_a_default_command(images: Images) -> None:
    for image, user in ((images.probe, "10002:10002"), (images.collector, "10001:10001")):
        config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
        assert config["User"] == user
    # Without its settings each default command says in one line what is missing.
    probe = podman("run", "--rm", *RUN_OPTIONS, images.probe, check=False)
    assert probe.returncode == 2 and "Traceback" not in probe.stderr
    assert "no collector address" in probe.stderr and "VANTAGE_PROBE_COLLECTOR" in probe.stderr
    collector = podman("run", "--rm", *RUN_OPTIONS, images.collector, check=False)
    assert collector.returncode == 2 and "Traceback" not in collector.stderr
    (line,) = [line for line in collector.stderr.splitlines() if line.startswith("vantage: error:")]
    assert "/etc/vantage/tls/tls.crt" in line and "no such file" in line


def test_collector_and_probe_containers_end_to_end(
    images: Images, containers: list[Container], tmp_path: Path
) -> None:
    started = time.monotonic()
    grpc_port, metrics_port, probe_metrics_port = free_port(), free_port(), free_port()
    data_dir = owned_dir(tmp_path / "collector", 10001)
    collector = run_container(
        containers,
        "--read-only",
        "--cap-drop=ALL",
        "--volume",
        f"{data_dir}:/var/lib/vantage",
        images.collector,
        "collector",
        "serve",
        "--plaintext",
        f"--listen=127.0.0.1:{grpc_port}",
        f"--metrics=127.0.0.1:{metrics_port}",
        "--data-dir=/var/lib/vantage",
        "--round-seconds=2",
        "--ingest-processes=0",
        "--allow-range=127.0.0.1/32",  # the one target is loopback (special-purpose space)
    )
    poll(lambda: "collector listening on" in collector.logs(), timeout_s=60, what="the collector to listen")

    # Health over gRPC and /metrics over HTTP, from the host.
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert "vantage_grpc_requests_total" in scrape(metrics_port)

    # An enrollment token and one target (a listener on loopback), with the host's CLI.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    target_port = listener.getsockname()[1]
    admin = [sys.executable, "-m", "vantage.cli"]
    where = ["--collector", f"127.0.0.1:{grpc_port}", "--data-dir", str(data_dir), "--plaintext"]
    targets = tmp_path / "targets.csv"
    targets.write_text(f"target,protocols,country,asn,tags\n127.0.0.1,tcp,KZ,64501,port:{target_port}\n")
    for command in (["collector", "targets", "import", str(targets)], ["collector", "token", "create"]):
        result = subprocess.run([*admin, *command, *where], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    token = result.stdout.strip()

    state_dir = owned_dir(tmp_path / "probe", 10002)
    probe = run_container(
        containers,
        "--read-only",
        "--cap-drop=ALL",
        "--cap-add=NET_RAW",
        "--volume",
        f"{state_dir}:/var/lib/vantage-probe",
        "--env",
        f"VANTAGE_PROBE_COLLECTOR=127.0.0.1:{grpc_port}",
        "--env",
        f"VANTAGE_PROBE_ENROLL_TOKEN={token}",
        images.probe,
        "probe",
        "run",
        "--state-dir=/var/lib/vantage-probe",
        "--plaintext",
        "--allow-range=127.0.0.1/32",
        "--heartbeat-seconds=2",
        f"--metrics=127.0.0.1:{probe_metrics_port}",
    )
    poll(lambda: "probe enrolled as" in probe.logs(), timeout_s=60, what="the probe to enroll")
    try:
        poll(
            lambda: sample(scrape(metrics_port), "vantage_results_accepted_total") >= 1,
            timeout_s=90,
            what="the probe's results at the collector",
        )
    except AssertionError as failure:
        raise AssertionError(
            f"{failure}\n--- probe\n{probe.logs()[-3000:]}\n--- collector\n{collector.logs()[-3000:]}"
        ) from None
    assert (state_dir / "credential.json").exists()
    exposition = scrape(probe_metrics_port)
    assert "vantage_probe_uploads_total" in exposition and "_created" not in exposition

    # SIGTERM: both finish what is in flight and exit 0.
    assert probe.stop_with_sigterm() == 0, probe.logs()[-2000:]
    assert "probe stopped cleanly" in probe.logs()
    assert collector.stop_with_sigterm() == 0, collector.logs()[-2000:]
    assert "collector stopped" in collector.logs()
    listener.close()
    print(f"\ncontainers end to end in {time.monotonic() - started:.0f} s", file=sys.stderr)
