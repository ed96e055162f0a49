"""Issue 19 (5): a real probe process whose state dir is a real tmpfs that fills up.

It kept failing every round with "database or disk is full", exited with ENOSPC
when saving the plan, and could not delete acknowledged rows, so its backlog
never shrank. Now it keeps measuring (counting what it cannot store), keeps
uploading and deleting, and never exits. Needs root (mount); targets are
127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probe.daemon.fake_collector import FakeCollector, work_plan
from tests.probe.daemon.harness import Probe, Processes, poll
from vantage.v1 import measurement_pb2, probe_service_pb2

TMPFS_BYTES = 12 << 20


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "state-fs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; returns it."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):  # then every partial block
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)
    probe_write = directory / "probe-write"
    with pytest.raises(OSError) as full:
        probe_write.write_bytes(b"\0" * 8192)
    assert full.value.errno == errno.ENOSPC
    probe_write.unlink(missing_ok=True)
    return filler


def test_a_probe_on_a_full_disk_degrades_and_never_dies(tmpfs: Path, tmp_path: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0), backlog=256)
    port = int(server.getsockname()[1])
    tasks = [
        probe_service_pb2.Task(
            id=f"t{n}",
            protocol=measurement_pb2.PROTOCOL_TCP,
            target=measurement_pb2.Target(address="127.0.0.1", port=port, target_id=f"t{n}"),
        )
        for n in range(50)
    ]
    collector = FakeCollector(lambda: work_plan(tasks, round_seconds=2))
    collector.accepting = False
    processes = Processes()
    try:
        probe = Probe(
            processes,
            tmpfs / "state",
            [collector.address],
            token="vet_fake",
            extra=["--allow-range", "127.0.0.1/32", "--batch-size", "50"],
        ).start()
        poll(lambda: probe.metric("vantage_probe_outbox_depth") >= 100, timeout_s=60, what="a backlog")
        fill(tmpfs)
        dropped = poll(
            lambda: probe.metric("vantage_probe_disk_full_dropped_total"),
            timeout_s=60,
            what="results counted as dropped on the full disk",
        )
        assert probe.process is not None and probe.process.alive()
        assert f"the disk holding {tmpfs / 'state' / 'outbox.sqlite3'} is full" in probe.log()
        collector.accepting = True  # the backlog is uploaded and deleted on the full disk
        poll(
            lambda: probe.metric("vantage_probe_outbox_depth") == 0, timeout_s=60, what="the backlog deleted"
        )
        rounds_before = probe.metric("vantage_probe_round")
        poll(
            lambda: probe.metric("vantage_probe_round") > rounds_before,
            timeout_s=30,
            what="rounds going on",
        )
        assert probe.process.alive(), probe.process.tail()
        print(f"full disk: {dropped:.0f} results dropped and counted, backlog uploaded and deleted")
        assert collector.measurements()
    finally:
        processes.close()
        collector.stop()
        server.close()
