"""Real processes for the daemon tests: a `vantage collector serve` and
`vantage probe run` on loopback, their logs, metrics and databases.

Everything started here is stopped by `Processes.close()` (used from fixtures
in a finally), even when a test fails half-way.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.collector.batches import STORED_RESULTS_SQL, stored_results
from vantage.v1 import measurement_pb2

VANTAGE = [sys.executable, "-m", "vantage.cli"]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def poll(condition: Callable[[], T], *, timeout_s: float, what: str, interval_s: float = 0.1) -> T:
    """Return the first truthy value of condition() within the deadline, else fail saying what."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=log, env=env)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_log(self, text: str, *, timeout_s: float = 20.0, count: int = 1) -> None:
        def seen() -> bool:
            if not self.alive() and self.log().count(text) < count:
                raise AssertionError(
                    f"{self.name} exited ({self.returncode()}) before logging {text!r}:\n{self.tail()}"
                )
            return self.log().count(text) >= count

        poll(seen, timeout_s=timeout_s, what=f"{self.name} to log {text!r}\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def terminate(self, timeout_s: float = 30.0) -> int:
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(
                f"{self.name} did not exit within {timeout_s} s of SIGTERM:\n{self.tail()}"
            ) from None

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait()


@dataclass
class Processes:
    started: list[Process] = field(default_factory=list)

    def add(self, process: Process) -> Process:
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.popen is not None and process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()


@dataclass
class Collector:
    """A collector with a fixed port and data dir, so it can be stopped and started again."""

    processes: Processes
    data_dir: Path
    port: int
    round_seconds: float = 2.0
    log_name: str = "collector.log"
    process: Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Collector:
        argv = [
            *VANTAGE, "collector", "serve", "--listen", self.address, "--data-dir", str(self.data_dir),
            "--plaintext", "--round-seconds", str(self.round_seconds),
            "--allow-range", "127.0.0.0/8",  # the tests' targets are loopback (special-purpose)
        ]  # fmt: skip
        self.process = self.processes.add(Process(self.log_name, argv, self.data_dir.parent / self.log_name))
        count = self.process.log().count("collector listening on") + 1
        self.process.start()
        self.process.wait_log("collector listening on", count=count)
        return self

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()

    def admin(self, *args: str) -> str:
        argv = [*VANTAGE, *args, "--collector", self.address, "--data-dir", str(self.data_dir), "--plaintext"]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{' '.join(args)} failed: {result.stderr}"
        return result.stdout

    def token(self) -> str:
        return self.admin("collector", "token", "create").strip()

    def import_targets(self, csv_text: str) -> None:
        path = self.data_dir.parent / f"targets-{time.monotonic_ns()}.csv"
        path.write_text(csv_text)
        self.admin("collector", "targets", "import", str(path))

    def stored(self) -> list[tuple[str, measurement_pb2.Measurement]]:
        """(probe_id, measurement) of every stored result."""
        path = self.data_dir / "collector.sqlite3"
        if not path.exists():
            return []
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute(STORED_RESULTS_SQL).fetchall()
        except sqlite3.OperationalError:
            return []  # not migrated yet
        finally:
            db.close()
        return stored_results(rows)

    def measurements(self) -> list[tuple[str, str, int, str, int, str]]:
        """(measurement_id, probe_id, round, task_id, outcome, failure) of every stored result."""
        return [(m.id, p, m.round, m.task_id, m.outcome, m.failure.kind) for p, m in self.stored()]

    def measurements_by_protocol(self) -> list[tuple[str, str, int, int, int, str]]:
        """(measurement_id, probe_id, round, protocol, outcome, failure) of every stored result."""
        return [(m.id, p, m.round, m.protocol, m.outcome, m.failure.kind) for p, m in self.stored()]

    def rounds_computed(self) -> int:
        db = sqlite3.connect(f"file:{self.data_dir / 'collector.sqlite3'}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("SELECT COUNT(*) FROM rounds WHERE computed_at IS NOT NULL").fetchone()[0])
        finally:
            db.close()

    def stored_ids(self) -> set[str]:
        return {row[0] for row in self.measurements()}


@dataclass
class Probe:
    processes: Processes
    state_dir: Path
    collectors: Sequence[str]
    token: str
    extra: Sequence[str] = ()
    metrics_port: int = field(default_factory=free_port)
    process: Process | None = None

    def start(self) -> Probe:
        argv = [*VANTAGE, "probe", "run", "--state-dir", str(self.state_dir), "--plaintext"]
        for address in self.collectors:
            argv += ["--collector", address]
        # One argument with "=": a token may start with "-" (URL-safe base64).
        argv += [f"--enroll-token={self.token}", "--metrics", f"127.0.0.1:{self.metrics_port}"]
        argv += ["--heartbeat-seconds", "1", "--retry-max-seconds", "1", *self.extra]
        self.process = self.processes.add(Process("probe", argv, self.state_dir.parent / "probe.log"))
        self.process.start()
        return self

    def log(self) -> str:
        assert self.process is not None
        return self.process.log()

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Sum of the samples of `name` matching `labels` (0 when absent or unreachable)."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
            ) as response:
                text = response.read().decode()
        except OSError:
            return 0.0
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            series, _, value = line.rpartition(" ")
            metric_name, _, label_text = series.partition("{")
            if metric_name != name:
                continue
            if labels and not all(f'{k}="{v}"' in label_text for k, v in labels.items()):
                continue
            total += float(value)
        return total

    def outbox_ids(self) -> set[str]:
        path = self.state_dir / "outbox.sqlite3"
        if not path.exists():
            return set()
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return {str(row[0]) for row in db.execute("SELECT measurement_id FROM results")}
        finally:
            db.close()

    def outbox_rounds(self) -> list[int]:
        """Round of every result held in the outbox."""
        from vantage.v1 import measurement_pb2

        db = sqlite3.connect(f"file:{self.state_dir / 'outbox.sqlite3'}?mode=ro", uri=True, timeout=10)
        try:
            payloads = [bytes(row[0]) for row in db.execute("SELECT payload FROM results")]
        finally:
            db.close()
        return [measurement_pb2.Measurement.FromString(p).round for p in payloads]

    def outbox_dropped_total(self) -> int:
        db = sqlite3.connect(f"file:{self.state_dir / 'outbox.sqlite3'}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("SELECT value FROM counters WHERE name = 'dropped_total'").fetchone()[0])
        finally:
            db.close()

    def probe_id(self) -> str:
        import json

        return str(json.loads((self.state_dir / "credential.json").read_text())["probe_id"])
