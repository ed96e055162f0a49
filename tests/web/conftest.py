"""`vantage web` as a process in front of a real collector whose database holds computed rounds.

The history (tests/collector/service/test_round_loop.py compute_history) has an outage of
AS64500 and of KZ; AS64520 (NL) stays up. The web is started with the normal command.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.collector.conftest import VANTAGE, CollectorProcess, start_collector

START_TIMEOUT_S = 30.0


@dataclass
class WebProcess:
    process: subprocess.Popen[str]
    url: str  # http://127.0.0.1:PORT, no trailing slash

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_web(*collectors: str, title: str = "Vantage test") -> WebProcess:
    args = [*VANTAGE, "web", "--listen", "127.0.0.1:0", "--plaintext", "--title", title,
            "--base-url", "https://status.example.org"]  # fmt: skip
    for address in collectors:
        args += ["--collector", address]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
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
        if line.startswith("web listening on "):
            return WebProcess(process, line.split()[3].rstrip("/"))
    process.kill()
    raise AssertionError("vantage web did not start")


@pytest.fixture(scope="session")
def history_collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorProcess]:
    from tests.collector.service.test_round_loop import compute_history

    data_dir = tmp_path_factory.mktemp("web-history") / "collector"
    data_dir.mkdir()
    compute_history(data_dir / "collector.sqlite3")
    handle = start_collector(data_dir, "--round-seconds", "3600")
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def web_site(history_collector: CollectorProcess) -> Iterator[WebProcess]:
    site = start_web(history_collector.address)
    try:
        yield site
    finally:
        site.stop()


def artefacts_dir() -> Path:
    """Where the browser test leaves its screenshots (kept after the run, for people to look at)."""
    from tests.conftest import REPO_ROOT

    path = REPO_ROOT / "build" / "test-artefacts" / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path
