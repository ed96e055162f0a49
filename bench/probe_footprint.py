"""Steady-state footprint of the probe daemon with a 10,000-target work plan, side by side with fping.

    /work/venv/bin/python bench/probe_footprint.py [--targets 10000] [--rounds 3] [--round-seconds 15]
                                                  [--max-rate 5000]

Ours: a real `vantage collector serve` (plaintext, loopback, temporary data dir)
hands a real `vantage probe run` a plan of ICMP tasks (3 echo requests, 1 s
apart, per target) toward 127.1.x.y — loopback, answered by the kernel, so no
packet leaves the machine. We read the probe process's peak RSS (VmHWM) and
its CPU seconds (utime + stime) from /proc, over the steady-state rounds only
(after the first round, so start-up and imports are excluded), and the number
of results it wrote from its own metrics. That is the whole daemon: engine,
policy checks, SQLite outbox commits, gRPC uploads, heartbeats, metrics.

Peer: fping (-c 3 -p 1000) over the same targets at the same packet rate,
measured with wait4's rusage: the classic C tool that only pings and prints.

Targets: ≤ 100 MB peak RSS for the probe (issue 6).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

VANTAGE = [sys.executable, "-m", "vantage.cli"]
# The target for a volunteer's machine.
RSS_TARGET_MB = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def target_addresses(count: int) -> list[str]:
    # 127.1.0.1 onwards: loopback, so the kernel answers and nothing leaves the host.
    return [f"127.1.{n // 250}.{n % 250 + 1}" for n in range(count)]


def wait_for(condition, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def metric(port: int, name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith(name) and line.partition("{")[0].partition(" ")[0] == name
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_probe(
    work: Path, targets: list[str], rounds: int, round_seconds: float, max_rate: float
) -> dict[str, float]:
    data_dir, state_dir = work / "collector", work / "probe"
    data_dir.mkdir()
    port, metrics_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    logs = (work / "collector.log").open("wb"), (work / "probe.log").open("wb")
    collector = subprocess.Popen(
        [*VANTAGE, "collector", "serve", "--listen", address, "--data-dir", str(data_dir), "--plaintext",
         "--round-seconds", str(round_seconds), "--log-level", "WARNING"],
        stdout=logs[0], stderr=logs[0],
    )  # fmt: skip
    probe = None
    try:
        wait_for(lambda: (data_dir / "admin.credential").exists(), 30, "the collector")
        time.sleep(0.5)
        admin = ["--collector", address, "--data-dir", str(data_dir), "--plaintext"]
        # Four targets per AS: the collector measures up to four targets of an AS per round.
        csv = work / "targets.csv"
        csv.write_text(
            "target,protocols,country,asn,tags\n"
            + "".join(f"{t},icmp,KZ,{4_200_000_000 + n // 4},\n" for n, t in enumerate(targets))
        )
        subprocess.run(
            [*VANTAGE, "collector", "targets", "import", str(csv), *admin], check=True, capture_output=True
        )
        token = subprocess.run(
            [*VANTAGE, "collector", "token", "create", *admin], check=True, capture_output=True, text=True
        ).stdout.strip()
        probe = subprocess.Popen(
            [*VANTAGE, "probe", "run", "--collector", address, f"--enroll-token={token}",
             "--state-dir", str(state_dir), "--plaintext", "--allow-range", "127.0.0.0/8",
             "--metrics", f"127.0.0.1:{metrics_port}",
             "--max-rate", str(max_rate), "--max-concurrency", "1024", "--log-level", "warning"],
            stdout=logs[1], stderr=logs[1],
        )  # fmt: skip
        # Steady state starts when the first round's results are all written.
        wait_for(
            lambda: metric(metrics_port, "vantage_probe_round") > 0,
            120 + round_seconds * 2,
            "the first round",
        )
        ok_series = 'vantage_probe_measurements_total{outcome="ok",protocol="icmp"}'
        cpu_start = cpu_seconds(probe.pid)
        written_start = metric(metrics_port, "vantage_probe_measurements_total")
        ok_start = metric_labelled(metrics_port, ok_series)
        started = time.monotonic()
        # Rounds run, counted by their results (a round that overran may make the next one skip).
        plan_tasks = metric(metrics_port, "vantage_probe_work_plan_tasks")
        wait_for(
            lambda: (
                metric(metrics_port, "vantage_probe_measurements_total") - written_start
                >= rounds * plan_tasks
            ),
            rounds * round_seconds * 4 + 60,
            f"{rounds} more rounds",
        )
        wait_for(lambda: metric(metrics_port, "vantage_probe_outbox_depth") == 0, 60, "the outbox to drain")
        cpu = cpu_seconds(probe.pid) - cpu_start
        written = metric(metrics_port, "vantage_probe_measurements_total") - written_start
        result = {
            "measurements": written,
            "cpu_s": cpu,
            "wall_s": time.monotonic() - started,
            "peak_rss_mb": peak_rss_mb(probe.pid),
            "plan_tasks": metric(metrics_port, "vantage_probe_work_plan_tasks"),
            "ok": metric_labelled(metrics_port, ok_series) - ok_start,
        }
        probe.send_signal(signal.SIGTERM)
        probe.wait(timeout=60)
        db = sqlite3.connect(f"file:{data_dir / 'collector.sqlite3'}?mode=ro", uri=True)
        stored = db.execute("SELECT COALESCE(SUM(results), 0) FROM result_batches").fetchone()[0]
        result["stored_at_collector"] = stored
        db.close()
        return result
    except SystemExit:
        for name in ("collector.log", "probe.log"):
            print(f"--- last lines of {name}:\n" + "\n".join((work / name).read_text().splitlines()[-15:]))
        raise
    finally:
        for process in (probe, collector):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def metric_labelled(port: int, series: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.rpartition(" ")[2])
    return 0.0


def run_fping(targets: list[str], max_rate: float) -> dict[str, float]:
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping is not installed (apt-get install fping)")
    interval_ms = max(0.0, 1000.0 / max_rate)  # same packet rate as the probe's cap
    started = time.monotonic()
    process = subprocess.Popen(
        [fping, "-q", "-c", "3", "-p", "1000", "-i", f"{interval_ms:g}", "-f", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None and process.stderr is not None
    process.stdin.write("".join(f"{t}\n" for t in targets).encode())
    process.stdin.close()
    summary = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    answered = sum(1 for line in summary.splitlines() if "xmt/rcv/%loss" in line and "/0%" in line)
    return {
        "measurements": float(len(targets)),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic() - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "ok": float(answered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=10_000, help="targets per round (default 10,000)")
    parser.add_argument("--rounds", type=int, default=2, help="steady-state rounds measured (default 2)")
    parser.add_argument("--round-seconds", type=float, default=15.0, help="round length (default 15)")
    parser.add_argument("--max-rate", type=float, default=5000.0, help="probe packet cap, also fping's rate")
    args = parser.parse_args()
    targets = target_addresses(args.targets)
    with tempfile.TemporaryDirectory(prefix="vtpd-bench-") as work:
        ours = run_probe(Path(work), targets, args.rounds, args.round_seconds, args.max_rate)
    peer = run_fping(targets, args.max_rate)

    def per_1000(row: dict[str, float]) -> float:
        return 1000 * row["cpu_s"] / row["measurements"] if row["measurements"] else float("nan")

    print(f"work plan: {int(ours['plan_tasks'])} ICMP tasks/round (3 echo requests each), loopback targets")
    print(f"{'':28}{'vantage probe run':>20}{'fping -c3':>14}{'ratio':>10}")
    rows = [
        ("measurements", ours["measurements"], peer["measurements"]),
        ("answered (ok)", ours["ok"], peer["ok"]),
        ("CPU seconds", ours["cpu_s"], peer["cpu_s"]),
        ("CPU s per 1,000 measurements", per_1000(ours), per_1000(peer)),
        ("peak RSS (MB)", ours["peak_rss_mb"], peer["peak_rss_mb"]),
    ]
    for label, a, b in rows:
        ratio = a / b if b else float("nan")
        print(f"{label:28}{a:>20.3f}{b:>14.3f}{ratio:>9.2f}x")
    print(f"stored at the collector: {ours['stored_at_collector']:.0f} results (all rounds)")
    verdict = "meets" if ours["peak_rss_mb"] <= RSS_TARGET_MB else "MISSES"
    print(f"peak RSS {ours['peak_rss_mb']:.1f} MB {verdict} the {RSS_TARGET_MB:.0f} MB target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
