"""Ingest with several collectors on PostgreSQL, side by side with one collector on SQLite.

    /work/venv/bin/python bench/ingest_scaleout.py [--results 100000] [--batch 1000] [--streams 4]

Three configurations, in one run, fed the same load:
  1. one collector on SQLite (the embedded default, WAL, synchronous=FULL);
  2. one collector on PostgreSQL (a row per batch, its ids in one
     INSERT ... FROM unnest(array) ON CONFLICT DO NOTHING; synchronous_commit=on);
  3. two collectors on the same PostgreSQL database, the probes' streams
     spread over them (what several collectors are for).
The load generator is bench/ingest.py's (same measurements, same
pre-serialized batches over SubmitResults, a few batches in flight per
stream); each configuration gets fresh probes and a fresh database (a scratch
schema, dropped afterwards). The clock runs from the first batch sent to the
last ack received. Results/s and the ratios between the configurations are
printed, with the CPU count: on a 2-core machine the collectors, PostgreSQL
and the load generator share the same cores, so a second collector can only
help as far as a core is idle.

PostgreSQL: VANTAGE_TEST_POSTGRES_DSN, default the server scripts/services.sh
starts (postgresql://vantage:vantage@127.0.0.1:5432/vantage_test).
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import grpc
import psycopg

from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (  # bench/ingest.py's load generator
    BENCH_RANGE,
    TARGETS,
    bench_targets,
    make_measurement,
    stream,
    synthetic_asn_csv,
)

from vantage.probe.daemon.wire import measurement_id

DEFAULT_DSN = "postgresql://vantage:vantage@127.0.0.1:5432/vantage_test"
START_TIMEOUT_S = 60.0
GRPC_OPTIONS = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]


@dataclass
class Collector:
    process: subprocess.Popen[str]
    address: str
    data_dir: Path


def start_collector(data_dir: Path, name: str, asn_file: Path, db_url: str | None) -> Collector:
    args = [sys.executable, "-m", "vantage.cli", "collector", "serve", "--plaintext",
            "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--round-seconds", "3600",
            "--log-level", "WARNING", "--collector-id", name, "--asn-db", str(asn_file),
            "--allow-range", BENCH_RANGE]  # fmt: skip
    if db_url:
        args += ["--db", db_url]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    for line in process.stderr:
        if line.startswith("collector listening on "):
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return Collector(process, line.split("collector listening on ", 1)[1].strip(), data_dir)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError(f"collector {name} did not start")


def stop(collectors: list[Collector]) -> None:
    for c in collectors:
        c.process.send_signal(signal.SIGTERM)
    for c in collectors:
        try:
            c.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            c.process.kill()


def build_load(args: argparse.Namespace) -> list[list[list[measurement_pb2.Measurement]]]:
    """Per stream, its batches of measurements (bench/ingest.py's mix); probe ids are set per run."""
    rng = random.Random(args.seed)
    targets = [f"198.{18 + (i >> 8) % 2}.{i % 256}.{1 + (i >> 9) % 250}" for i in range(TARGETS)]
    now = time.time()
    per_stream = args.results // args.streams
    unplanned = probe_service_pb2.WorkPlan(tasks=[probe_service_pb2.Task(id="set-per-probe")])
    return [
        [
            [
                make_measurement(rng, unplanned, "", now, rng.choice(targets), "random", start + n)
                for n in range(min(args.batch, per_stream - start))
            ]
            for start in range(0, per_stream, args.batch)
        ]
        for _ in range(args.streams)
    ]


def run_config(
    label: str,
    folder: Path,
    asn_file: Path,
    db_url: str | None,
    collectors_n: int,
    load: list[list[list[measurement_pb2.Measurement]]],
) -> tuple[float, int]:
    """(results/s, results acked) of one configuration."""
    collectors = [
        start_collector(folder / f"{label}-{n}", f"{label}-{n}", asn_file, db_url)
        for n in range(collectors_n)
    ]
    try:
        channels = [grpc.insecure_channel(c.address, options=GRPC_OPTIONS) for c in collectors]
        admin = admin_service_pb2_grpc.AdminServiceStub(channels[0])
        admin_md = bearer_metadata(read_credential_file(collectors[0].data_dir / "admin.credential"))
        specs = [admin_service_pb2.TargetSpec(target=address, protocols=[1]) for address in bench_targets()]
        admin.ImportTargets(admin_service_pb2.ImportTargetsRequest(targets=specs), metadata=admin_md)
        plans = []
        for n, stream_batches in enumerate(load):
            channel = channels[n % collectors_n]  # spread the probes over the collectors
            token = admin.CreateEnrollmentToken(
                admin_service_pb2.CreateEnrollmentTokenRequest(name=f"bench-{n}"), metadata=admin_md
            ).token
            probe = probe_service_pb2_grpc.ProbeServiceStub(channel).Enroll(
                probe_service_pb2.EnrollRequest(enrollment_token=token, name=f"bench-{n}")
            )
            # Results of the tasks the collector gave this probe (it believes no others).
            work = probe_service_pb2_grpc.ProbeServiceStub(channel).GetWork(
                probe_service_pb2.GetWorkRequest(capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)),
                metadata=bearer_metadata(probe.credential),
            )
            if not work.tasks:
                raise RuntimeError(f"{label}: probe {probe.probe_id} got no tasks")
            batches = []
            index = 0
            for ms in stream_batches:
                for m in ms:  # ids as this probe's daemon would make them (docs/ingest.md)
                    m.probe_id = probe.probe_id
                    m.round = work.round
                    m.task_id = work.tasks[index % len(work.tasks)].id
                    m.id = measurement_id(probe.probe_id, m.round, m.task_id, index)
                    index += 1
                batches.append(
                    probe_service_pb2.ResultBatch(
                        batch_id=uuid.uuid4().hex, measurements=ms
                    ).SerializeToString()
                )
            plans.append((channel, probe.credential, batches))
        total = sum(len(ms) for stream_batches in load for ms in stream_batches)
        acks: queue.Queue[object] = queue.Queue()
        threads = [threading.Thread(target=stream, args=(*plan, acks)) for plan in plans]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        results = [acks.get() for _ in threads]
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise RuntimeError(f"{label}: stream failed: {errors[0]}")
        accepted = sum(r for r in results if isinstance(r, int))
        if accepted != total:
            raise RuntimeError(f"{label}: acked {accepted} of {total}")
        for channel in channels:
            channel.close()
    finally:
        stop(collectors)
    return accepted / elapsed, accepted


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--results", type=int, default=100_000, help="measurements per configuration (100000)"
    )
    parser.add_argument("--batch", type=int, default=1000, help="measurements per batch (default 1000)")
    parser.add_argument("--streams", type=int, default=4, help="concurrent probes/streams (default 4)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (0 < args.results <= 1_000_000) or args.batch <= 0 or args.streams < 2:
        parser.error("--results must be 1..1000000, --batch positive, --streams at least 2")
    dsn = os.environ.get("VANTAGE_TEST_POSTGRES_DSN") or DEFAULT_DSN
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"no PostgreSQL at VANTAGE_TEST_POSTGRES_DSN ({exc}); run `bash scripts/services.sh start`")
        return 2

    figures: dict[str, float] = {}
    print(f"building {args.results:,} measurements ...", file=sys.stderr)
    load = build_load(args)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="vantage-bench-scaleout-") as scratch:
        folder = Path(scratch)
        asn_file = folder / "bench-asn.csv"
        synthetic_asn_csv(asn_file)
        for label, backend, collectors_n in (("sqlite-1", "sqlite", 1), ("pg-1", "pg", 1), ("pg-2", "pg", 2)):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            db_url = None
            if backend == "pg":
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                separator = "&" if "?" in dsn else "?"
                db_url = f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"
            try:
                print(f"{label}: {args.results:,} results ...", file=sys.stderr)
                rate, _ = run_config(label, folder, asn_file, db_url, collectors_n, load)
                figures[label] = rate
            finally:
                if backend == "pg":
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    print(
        f"ingest scale-out: {args.results:,} results per configuration, batches of {args.batch}, "
        f"{args.streams} streams, {os.cpu_count()} CPUs shared by collectors, PostgreSQL and the load"
    )
    print(f"  machine load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"  1 collector, SQLite:          {figures['sqlite-1']:>9,.0f} results/s")
    print(f"  1 collector, PostgreSQL:      {figures['pg-1']:>9,.0f} results/s")
    print(f"  2 collectors, one PostgreSQL: {figures['pg-2']:>9,.0f} results/s")
    print(
        f"  ratios: 2 PG / 1 PG = {figures['pg-2'] / figures['pg-1']:.2f}   "
        f"1 PG / SQLite = {figures['pg-1'] / figures['sqlite-1']:.2f}   "
        f"2 PG / SQLite = {figures['pg-2'] / figures['sqlite-1']:.2f}"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
