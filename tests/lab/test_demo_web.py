"""The lab's site: `vantage lab run|demo --web` serves the live AS status on the host while the lab runs.

The lab's namespaces do not route to the host, so `vantage web` runs on the
host and asks the collector over a unix socket (lab/commands.py). One short
scenario on the small topology (one cut) stands in for the demo, which takes
the same path with a longer scenario; a real Chromium reads an AS page while
the lab is up.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.collector.conftest import VANTAGE

pytestmark = [pytest.mark.netns, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SMALL_ASES = {1299, 24940, 12389, 9198, 29355}
STATUSES = {"UP", "DEGRADED", "DOWN", "FILTERED", "UNKNOWN"}
# Bounds on waits for the lab (start-up, warm-up); the scenario's own time is its duration.
START_BOUND_S = 240.0
SCENARIO = """
name = "web-while-running"
description = "AS29355 cut while the site is watched"
topology = "small"
duration_seconds = 60
warmup_seconds = 60

[[action]]
at = 5
do = "cut"
as = 29355
method = "link"
label = "AS29355 cut"
"""


def _next_line(lines: queue.Queue[str], process: subprocess.Popen[str], marker: str, bound_s: float) -> str:
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert process.poll() is None, f"the lab exited ({process.returncode}) before {marker!r}"
            continue
        print(line, end="")
        if marker in line:
            return line
    raise AssertionError(f"no {marker!r} within {bound_s:g} s")


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:
        document: dict[str, object] = json.load(response)
        return document


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh installs it)")
def test_the_site_shows_the_lab_while_it_runs(tmp_path: Path) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    scenario = tmp_path / "web-while-running.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    argv = [*VANTAGE, "lab", "run", str(scenario), "--plain", "--web", "127.0.0.1:0",
            "--chart", str(tmp_path / "chart.png")]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        url = _next_line(lines, process, "==> web site: ", 60).split()[3].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        _next_line(lines, process, "staged: AS29355 cut", START_BOUND_S)
        ases = _get_json(f"{url}/api/v1/ases")["statuses"]
        assert isinstance(ases, list)
        shown = {int(row["asn"]): str(row.get("status", "")).removeprefix("STATUS_") for row in ases}
        assert set(shown) == SMALL_ASES
        assert set(shown.values()) <= STATUSES
        with playwright_sync.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            page.goto(f"{url}/as/29355", wait_until="domcontentloaded", timeout=120_000)
            text = page.inner_text("body")
            browser.close()
        assert "AS29355" in text
        assert any(status in text.upper() for status in STATUSES)
        assert process.poll() is None, "the lab ended before the site was read"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # the lab tears down as on Ctrl-C; the site stops with it
        process.wait(timeout=120)
    # The site stopped with the lab: nothing listens at its address any more.
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/", timeout=5)
