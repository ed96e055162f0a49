"""Without any ICMP socket (an unprivileged user, ping_group_range closed), ICMP tasks
are reported as failures that say why, and the other protocols are still measured."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.v1 import measurement_pb2

SCRIPT = """
import asyncio, sys
from pathlib import Path
from prometheus_client import CollectorRegistry
from vantage.probe.daemon.host import icmp_available
from vantage.probe.daemon.metrics import ProbeMetrics
from vantage.probe.daemon.outbox import AsyncOutbox, open_outbox
from vantage.probe.daemon.policy import build_policy
from vantage.probe.daemon.round_tasks import ResultWriter, RoundContext, run_round
from vantage.probe.daemon.wire import planned_task
from vantage.probe.engine import Engine
from vantage.v1 import measurement_pb2, probe_service_pb2

assert not icmp_available(), "this user can open an ICMP socket: the test cannot work here"
state, port = Path(sys.argv[1]), int(sys.argv[2])
tasks = [planned_task(task) for task in (
    probe_service_pb2.Task(id="icmp", protocol=measurement_pb2.PROTOCOL_ICMP,
                           target=measurement_pb2.Target(address="127.0.0.1")),
    probe_service_pb2.Task(id="tcp", protocol=measurement_pb2.PROTOCOL_TCP,
                           target=measurement_pb2.Target(address="127.0.0.1", port=port)),
)]
async def main():
    metrics = ProbeMetrics(CollectorRegistry())
    outbox = AsyncOutbox(open_outbox(state, 100))
    writer = ResultWriter(outbox, metrics, asyncio.Event())
    await run_round(tasks, RoundContext("p", 1, "test"), engine=Engine(), policy=build_policy(
        allow_ranges=["127.0.0.0/8"]), writer=writer, metrics=metrics, stop=asyncio.Event())
    await outbox.close()
asyncio.run(main())
"""


def _unavailable_reason() -> str | None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "needs root and setpriv to run a round as an unprivileged user"
    if Path("/proc/sys/net/ipv4/ping_group_range").read_text().split() != ["1", "0"]:
        return "unprivileged ICMP sockets are open on this host (ping_group_range)"
    return None


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    # Under /tmp itself: pytest's own tmp dirs are private to root.
    path = Path(tempfile.mkdtemp(prefix="vtpd-icmp-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(_unavailable_reason() is not None, reason=str(_unavailable_reason()))
def test_icmp_tasks_fail_with_a_reason_and_tcp_still_runs(shared_dir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        result = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
             sys.executable, "-c", SCRIPT, str(shared_dir), str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(shared_dir / "outbox.sqlite3")
    rows = {m.task_id: m for m in (measurement_pb2.Measurement.FromString(p) for (p,) in db.execute(
        "SELECT payload FROM results"))}  # fmt: skip
    db.close()
    assert rows["tcp"].outcome == measurement_pb2.OUTCOME_OK
    icmp = rows["icmp"]
    assert icmp.outcome == measurement_pb2.OUTCOME_FAILURE and icmp.failure.kind == "unknown_failure"
    assert "ICMP unavailable" in icmp.failure.detail
    assert "ICMP is unavailable on this host" in result.stderr
