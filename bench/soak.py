"""Soak: many probes stream results for a while, the collector is killed -9 at random, memory is sampled.

    .venv/bin/python bench/soak.py [--duration-s 180] [--probes 16] [--seed 1] [--mean-kill-s 20]

A `vantage collector serve` subprocess (real SQLite file, WAL, synchronous=FULL,
compressed rounds of --round-seconds) takes results from --probes streams,
each a probe enrolled through the admin API that sends batches at about
--rate-per-probe results/s, as `vantage probe run` does: a window of a few
batches ahead of their acks, and every batch not acked sent again on the
next connection (a batch committed but not acked before a kill comes back as
duplicates). A killer thread sends SIGKILL to the collector at seeded random
times (exponential gaps of mean --mean-kill-s) and starts it again on the
same data dir and port. The collector's resident memory, with its ingest
worker processes, is sampled every second.

At the end every acked measurement id must be stored ("lost" must be 0), the
store must hold nothing that was never sent ("unknown" 0), and SQLite's
integrity check must say ok. The run is bounded in time (--duration-s, a few
minutes by default, hours with a larger value) and in count (each probe's
results are numbered up front). Results count only when acked; the figures
go in docs/ingest.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import SUBMIT, enroll_probes, make_measurement, synthetic_asn_csv
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import probe_service_pb2

TARGETS = [f"198.18.{i % 256}.{1 + i // 256}" for i in range(1024)]  # benchmark range; nothing is sent
IN_FLIGHT = 4  # as the probe daemon's upload window (probe/daemon/uploader.py)
RETRY_PAUSE_S = 0.2  # between reconnections while the collector is down


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def family_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the ingest workers), from /proc."""
    total = 0
    members = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        members += [int(child) for child in children]
    except OSError:
        return 0
    for member in members:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Collector:
    """The collector subprocess, restartable on the same data dir and port."""

    def __init__(self, data_dir: Path, asn_file: Path, port: int, round_seconds: float) -> None:
        self.args = [sys.executable, "-m", "vantage.cli", "collector", "serve", "--plaintext",
                     "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
                     "--round-seconds", str(round_seconds), "--asn-db", str(asn_file),
                     "--log-level", "WARNING"]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        process = subprocess.Popen(self.args, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        for line in process.stderr:
            if line.startswith("collector listening on "):
                threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
                with self.lock:
                    self.process = process
                return
            if time.monotonic() > deadline:
                break
        process.kill()
        raise RuntimeError("collector did not start")

    def kill(self) -> list[int]:
        """SIGKILL; returns the pids of the children it had (ingest workers), to check later
        that they did not outlive it."""
        with self.lock:
            process, self.process = self.process, None
        if process is None:
            return []
        try:
            children = [
                int(c) for c in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            ]
        except OSError:
            children = []
        process.send_signal(signal.SIGKILL)
        process.wait()
        return children

    def stop(self) -> None:
        with self.lock:
            process, self.process = self.process, None
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def pid(self) -> int | None:
        with self.lock:
            return self.process.pid if self.process is not None else None


class ProbeStream:
    """One probe: numbered batches, resent until acked."""

    def __init__(self, probe: probe_service_pb2.EnrollResponse, seed: int, batch: int, rate: float) -> None:
        self.probe = probe
        self.rng = random.Random(seed)
        self.batch = batch
        self.pause_s = batch / rate
        self.made = 0
        self.pending: dict[str, tuple[bytes, list[str]]] = {}  # batch id -> (bytes, ids), not acked
        self.lock = threading.Lock()  # pending is shared with gRPC's request thread
        self.acked_ids: list[str] = []
        self.acked_batches = 0
        self.duplicates = 0
        self.reconnects = 0

    def next_batch(self) -> tuple[str, bytes]:
        now = time.time()
        items = [
            make_measurement(self.rng, self.probe.probe_id, now, self.rng.choice(TARGETS), "random", n)
            for n in range(self.batch)
        ]
        batch_id = f"{self.probe.probe_id}-{self.made}"
        self.made += 1
        raw = probe_service_pb2.ResultBatch(batch_id=batch_id, measurements=items).SerializeToString()
        with self.lock:
            self.pending[batch_id] = (raw, [m.id for m in items])
        return batch_id, raw

    def run(self, address: str, stop: threading.Event) -> None:
        with grpc.insecure_channel(address) as channel:
            call = channel.stream_stream(
                SUBMIT,
                request_serializer=lambda raw: raw,
                response_deserializer=probe_service_pb2.BatchAck.FromString,
            )
            while not stop.is_set() or self.pending:
                try:
                    self._one_connection(call, stop)
                except grpc.RpcError:
                    self.reconnects += 1
                    time.sleep(RETRY_PAUSE_S)
                if stop.is_set() and time.monotonic() > self.drain_deadline:
                    return

    def _one_connection(
        self, call: grpc.StreamStreamMultiCallable[bytes, probe_service_pb2.BatchAck], stop: threading.Event
    ) -> None:
        window = threading.Semaphore(IN_FLIGHT)
        closed = threading.Event()

        def wait_for_window() -> bool:
            while not window.acquire(timeout=0.5):
                if closed.is_set():
                    return False
            return True

        def requests() -> Iterator[bytes]:
            with self.lock:
                resend = [(batch_id, raw) for batch_id, (raw, _) in self.pending.items()]
            for _, raw in resend:
                if not wait_for_window():
                    return
                yield raw
            while not stop.is_set():
                if not wait_for_window():
                    return
                yield self.next_batch()[1]
                time.sleep(self.pause_s)

        try:
            credential = self.probe.credential
            for ack in call(requests(), metadata=bearer_metadata(credential), timeout=3600):
                with self.lock:
                    item = self.pending.pop(ack.batch_id, None)
                    empty = not self.pending
                if item is not None:
                    self.acked_ids += item[1]
                    self.acked_batches += 1
                    self.duplicates += ack.duplicates
                window.release()
                if stop.is_set() and empty:
                    return
        finally:
            closed.set()

    drain_deadline = float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration-s", type=float, default=180.0, help="how long probes send (default 180)")
    parser.add_argument("--probes", type=int, default=16, help="probes streaming at once (default 16)")
    parser.add_argument(
        "--batch", type=int, default=500, help="results per batch (default 500: ingest processes take them)"
    )
    parser.add_argument(
        "--rate-per-probe", type=float, default=400.0, help="results/s per probe (default 400)"
    )
    parser.add_argument("--round-seconds", type=float, default=5.0, help="compressed rounds (default 5)")
    parser.add_argument(
        "--mean-kill-s", type=float, default=20.0, help="mean time between kill -9 (default 20)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.duration_s <= 0 or args.probes <= 0 or args.batch <= 0 or args.rate_per_probe <= 0:
        parser.error("--duration-s, --probes, --batch and --rate-per-probe must be positive")
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="vantage-bench-soak-") as scratch:
        folder = Path(scratch)
        asn_file = folder / "bench-asn.csv"
        synthetic_asn_csv(asn_file)
        port = free_port()
        collector = Collector(folder / "collector", asn_file, port, args.round_seconds)
        collector.start()
        address = f"127.0.0.1:{port}"
        with grpc.insecure_channel(address) as channel:
            enrolled = enroll_probes(channel, folder / "collector", args.probes)
        streams = [
            ProbeStream(p, args.seed * 1000 + n, args.batch, args.rate_per_probe)
            for n, p in enumerate(enrolled)
        ]
        stop = threading.Event()
        samples: list[tuple[float, int]] = []  # (seconds since start, KiB)
        kills: list[float] = []
        orphans: list[int] = []  # children of killed collectors
        started = time.monotonic()
        deadline = started + args.duration_s

        def sampler() -> None:
            while not stop.is_set():
                pid = collector.pid()
                if pid is not None:
                    rss = family_rss_kib(pid)
                    if rss:
                        samples.append((time.monotonic() - started, rss))
                time.sleep(1.0)

        def killer() -> None:
            while True:
                gap = rng.expovariate(1.0 / args.mean_kill_s)
                if time.monotonic() + gap >= deadline - 5.0 or stop.wait(gap):
                    return
                kills.append(time.monotonic() - started)
                orphans.extend(collector.kill())
                collector.start()

        threads = [threading.Thread(target=s.run, args=(address, stop)) for s in streams]
        helpers = [threading.Thread(target=sampler, daemon=True), threading.Thread(target=killer)]
        for thread in threads + helpers:
            thread.start()
        time.sleep(max(0.0, deadline - time.monotonic()))
        for s in streams:
            s.drain_deadline = time.monotonic() + 60.0
        stop.set()
        for thread in threads + helpers[1:]:
            thread.join()
        elapsed = time.monotonic() - started
        collector.stop()
        time.sleep(3.0)  # ingest workers check for their collector every second
        outlived = [pid for pid in orphans if Path(f"/proc/{pid}").exists()]

        acked = [mid for s in streams for mid in s.acked_ids]
        sent_ids = set(acked) | {mid for s in streams for _, ids in s.pending.values() for mid in ids}
        storage = SqliteStorage(folder / "collector" / "collector.sqlite3")
        try:
            stored_count = storage.count_measurements()
            found: set[str] = set()
            for start in range(0, len(acked), 5000):
                found |= storage.stored_measurement_ids(acked[start : start + 5000])
        finally:
            storage.close()
        with sqlite3.connect(folder / "collector" / "collector.sqlite3") as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]

    lost = len(set(acked) - found)
    unknown = max(0, stored_count - len(sent_ids))
    kib = [rss for _, rss in samples]
    first_third = [rss for t, rss in samples if t < elapsed / 3] or kib
    last_third = [rss for t, rss in samples if t >= 2 * elapsed / 3] or kib
    print(
        f"soak: {args.probes} probes, {elapsed:.0f} s, rounds of {args.round_seconds:g} s, seed {args.seed},"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"  acked {len(acked):,} results ({len(acked) / elapsed:,.0f}/s) in"
        f" {sum(s.acked_batches for s in streams):,} batches; {len(kills)} kill -9 of the collector"
        f" (at {', '.join(f'{t:.0f}' for t in kills) or '-'} s);"
        f""
        f" {sum(s.reconnects for s in streams)} reconnections"
    )
    print(
        f"  lost {lost} of {len(acked):,} acked; stored {stored_count:,}; unknown {unknown};"
        f" duplicates acked {sum(s.duplicates for s in streams):,} (resent after a kill);"
        f" integrity {integrity}"
    )
    print(f"  ingest processes outliving a killed collector: {len(outlived)} of {len(orphans)}")
    if kib:
        print(
            f"  collector RSS with ingest processes: median {statistics.median(kib) / 1024:.0f} MiB,"
            f" max {max(kib) / 1024:.0f} MiB; first third median {statistics.median(first_third) / 1024:.0f},"
            f" last third {statistics.median(last_third) / 1024:.0f} MiB ({len(kib)} samples)"
        )
    return 0 if lost == 0 and unknown == 0 and integrity == "ok" and acked and not outlived else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
