"""What a probe's install costs a volunteer: site-packages size and the daemon's RSS at idle.

    python bench/probe_idle.py VENV [VENV ...]

For each virtual environment (made with `python3 -m venv VENV && VENV/bin/pip install
vantage`, or a checkout), prints the size of its site-packages and the resident set
(VmRSS from /proc) of `VENV/bin/vantage probe run` once it has settled: the daemon is
pointed at a loopback port where nothing listens, so it starts, fails to enroll and
waits to retry, every module of the daemon loaded. No packet leaves loopback.

Settled: VmRSS unchanged over 4 samples 0.5 s apart, or 30 s, whichever comes first.
Peer: the same figures for another install (e.g. before and after a dependency change).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_S = 0.5
STABLE_SAMPLES = 4
SETTLE_LIMIT_S = 30.0


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise SystemExit(f"{venv}: no lib/python3*/site-packages")
    return found[0]


def tree_bytes(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                total += file.stat().st_blocks * 512  # what `du` counts
    return total


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def idle_rss_kib(venv: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="vantage-probe-idle-") as state_dir:
        argv = [str(venv / "bin" / "vantage"), "probe", "run", "--plaintext", "--enroll-token", "bench"]
        argv += ["--collector", f"127.0.0.1:{closed_loopback_port()}", "--state-dir", state_dir]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            samples: list[int] = []
            deadline = time.monotonic() + SETTLE_LIMIT_S
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(SAMPLE_S)
                samples.append(rss_kib(process.pid))
                if len(samples) >= STABLE_SAMPLES and len(set(samples[-STABLE_SAMPLES:])) == 1:
                    break
            if process.poll() is not None:
                raise SystemExit(f"{venv}: the probe exited with status {process.returncode}")
            return samples[-1]
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venvs", nargs="+", type=Path, metavar="VENV")
    args = parser.parse_args()
    print(f"{'install':40} {'site-packages MB':>17} {'idle RSS MB':>12}")
    for venv in args.venvs:
        size_mb = tree_bytes(site_packages(venv)) / 1e6
        rss_mb = idle_rss_kib(venv) / 1024
        print(f"{venv!s:40} {size_mb:17.1f} {rss_mb:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
