"""A real Prometheus server for tests: temp storage, generated config, loopback only, HTTP API helpers."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import REPO_ROOT

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules" / "vantage.rules.yml"
PROMETHEUS = "/usr/bin/prometheus"
START_TIMEOUT_S = 30.0
T = TypeVar("T")


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (PROMETHEUS if Path(PROMETHEUS).exists() else None)
    if found is None:
        pytest.skip("prometheus is not installed (Debian package prometheus)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rules_without_delays(target: Path) -> Path:
    """The shipped rules with every `for:` set to 0s, so an alert fires at the first evaluation.

    The `for` durations themselves are covered by the promtool unit tests; here
    the point is the whole path from a collector's /metrics to a firing alert.
    """
    text, count = re.subn(r"(?m)^(\s+)for: \S+$", r"\1for: 0s", RULES.read_text())
    assert count > 0, "no `for:` found in the rules: the rewrite needs updating"
    target.write_text(text)
    return target


class PrometheusServer:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            document = json.load(response)
        assert document["status"] == "success", document
        return document["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def firing(self, alertname: str) -> list[dict[str, str]]:
        """Labels of the firing alerts of that name."""
        alerts = self.api("alerts")["alerts"]
        return [
            a["labels"] for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"
        ]

    def wait_for(self, what: str, check: Callable[[], T | None], timeout_s: float = 30.0) -> T:
        """Poll `check` until it returns something truthy (bounded); fail with the server log otherwise."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.process.poll() is not None:
                break
            time.sleep(0.25)
        log = self.log.read_text(errors="replace")[-4000:]
        pytest.fail(f"timed out waiting for {what}; prometheus log tail:\n{log}")


@contextmanager
def running_prometheus(tmp_path: Path, scrape_targets: dict[str, str]) -> Iterator[PrometheusServer]:
    """Prometheus scraping {job: "host:port"} every second and evaluating the rules every second."""
    binary = prometheus_binary()
    tmp_path.mkdir(parents=True, exist_ok=True)
    rules = rules_without_delays(tmp_path / "vantage.rules.yml")
    jobs = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        for job, target in scrape_targets.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {rules}\nscrape_configs:\n{jobs}"
    )
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=info",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", process, log)
    try:
        server.wait_for("prometheus to be ready", lambda: _ready(server.url), START_TIMEOUT_S)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
