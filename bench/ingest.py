"""End-to-end ingest: batches over gRPC into a collector process, side by side with a bare SQLite insert.

    /work/venv/bin/python bench/ingest.py [--results 200000] [--batch 1000] [--streams 4]

Ours: a `vantage collector serve` subprocess (real SQLite file, WAL,
synchronous=FULL). Several probes each stream pre-serialized ResultBatch
messages over one SubmitResults call, keeping a few batches in flight; the
collector validates every measurement, maps its target to an AS (a synthetic
dataset for the benchmark range 198.18.0.0/15, plus the real ip-location-db
dataset when ../shared/data is present), commits each batch durably and acks
it. The clock runs from the first batch sent to the last ack received,
after an untimed warm-up of a few batches that starts the collector's
ingest worker processes (as in a collector that has been up a while).

Peer: the same batches (as the collector stores them: the ids into the
dedup index, one batch row, its round) inserted into a fresh SQLite file
with the same schema and pragmas, one commit per batch, from one Python
thread, with no network, decoding, validation or mapping: the floor of what
durable SQLite ingest costs here.

Measurement ids are made as `vantage probe run` makes them (round-major
UUIDv8, probe/daemon/wire.py); `--ids random` sends UUIDv4s instead, to show
what random keys cost the dedup index.

Also: AS lookups/s on the full real dataset (uncached), when present.
RIPE Atlas's whole network averages ~15,000 results/s (RIPE NCC's published figures).
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc

from vantage.collector.service.auth import bearer_metadata, read_credential_file
from vantage.collector.storage.records import ResultBatchRecord
from vantage.collector.storage.sql_batches import INSERT_BATCH, INSERT_BATCH_ROUND, batch_params
from vantage.collector.storage.sqlite import INSERT_IDS_FROM_BLOB, SqliteStorage
from vantage.probe.daemon.wire import measurement_id
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
)

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ip-location-db"
REAL_FILES = ("asn-ipv4.csv.gz", "geo-whois-asn-country-ipv4.csv.gz")
TARGETS = 4096  # distinct target addresses in 198.18.0.0/15 (benchmark range; nothing is sent)
IN_FLIGHT = 4  # as the probe daemon's upload window (probe/daemon/uploader.py)
WARMUP_BATCHES = 8  # sent before the clock starts; enough to start the ingest processes
WARMUP_PAUSE_S = 2.0  # spawned interpreters import the ingest code in ~0.3-0.5 s each
SUBMIT = "/vantage.v1.ProbeService/SubmitResults"
BENCH_RANGE = "198.18.0.0/15"  # the targets' range: special-purpose, opened for the planner
# The results' protocols: ICMP half, DNS a quarter, HTTP 15 %, TCP 10 % (protocol -> cumulative
# share). Every target is imported with all four (TCP on port 443), so each plan has tasks of each.
PROTOCOL_MIX = {
    measurement_pb2.PROTOCOL_ICMP: 0.5,
    measurement_pb2.PROTOCOL_DNS: 0.75,
    measurement_pb2.PROTOCOL_HTTP: 0.9,
    measurement_pb2.PROTOCOL_TCP: 1.0,
}
TCP_PORT_TAG = "port:443"


def synthetic_asn_csv(path: Path) -> None:
    """198.18.N.0/24 → AS 64512 + N (ip-location-db ASN CSV form)."""
    with path.open("w") as out:
        for third in range(256):
            for second in (18, 19):
                out.write(
                    f"198.{second}.{third}.0,198.{second}.{third}.255,{64512 + third},Bench AS {third}\n"
                )


def tasks_by_protocol(plan: probe_service_pb2.WorkPlan) -> dict[int, list[probe_service_pb2.Task]]:
    by_protocol: dict[int, list[probe_service_pb2.Task]] = {}
    for task in plan.tasks:
        by_protocol.setdefault(task.protocol, []).append(task)
    missing = set(PROTOCOL_MIX) - set(by_protocol)
    if missing:
        raise RuntimeError(f"the plan has no task of protocol(s) {sorted(missing)}")
    return by_protocol


def make_measurement(
    rng: random.Random,
    plan: probe_service_pb2.WorkPlan,
    by_protocol: dict[int, list[probe_service_pb2.Task]],
    probe_id: str,
    now: float,
    ids: str,
    index: int,
) -> measurement_pb2.Measurement:
    """A result of one of the plan's tasks, about that task's target (the collector believes
    only those: collector/service/issued_tasks.py); its protocol drawn by PROTOCOL_MIX."""
    kind = rng.random()
    protocol = next(p for p, upto in PROTOCOL_MIX.items() if kind < upto)
    tasks = by_protocol[protocol]  # tasks_by_protocol(plan)
    task = tasks[index % len(tasks)]
    target = task.target.address
    round_number = plan.round
    m = measurement_pb2.Measurement(
        id=measurement_id(probe_id, round_number, task.id, index) if ids == "probe" else str(uuid.uuid4()),
        probe_id=probe_id,
        target=task.target,
        protocol=protocol,
        round=round_number,
        task_id=task.id,
        address_family=4,
        probe_version="bench",
    )
    m.started_at.FromNanoseconds(int((now - rng.random() * 200) * 1e9))
    m.duration.FromMilliseconds(40)
    if protocol == measurement_pb2.PROTOCOL_ICMP:
        m.protocol = measurement_pb2.PROTOCOL_ICMP
        ok = rng.random() > 0.05
        m.outcome = measurement_pb2.OUTCOME_OK if ok else measurement_pb2.OUTCOME_FAILURE
        m.icmp.sent = 3
        m.icmp.received = 3 if ok else 0
        for seq in range(3):
            m.icmp.replies.add(
                sequence=seq, lost=not ok, rtt_ms=0 if not ok else 20 + rng.random() * 5, ttl=55
            )
        if ok:
            m.icmp.min_rtt_ms, m.icmp.avg_rtt_ms, m.icmp.max_rtt_ms = 20.0, 22.0, 25.0
        else:
            m.failure.kind = "generic_timeout_error"
            m.failure.operation = measurement_pb2.OPERATION_ICMP_ECHO
    elif protocol == measurement_pb2.PROTOCOL_DNS:
        m.outcome = measurement_pb2.OUTCOME_OK
        m.dns.query_name, m.dns.query_type, m.dns.server, m.dns.rcode = "example.org.", "A", target, "NOERROR"
        m.dns.answers.add(name="example.org.", type="A", ttl=300, data="192.0.2.10")
        m.dns.response_time_ms = 15.0
    elif protocol == measurement_pb2.PROTOCOL_HTTP:
        m.outcome = measurement_pb2.OUTCOME_OK
        m.http.url, m.http.method, m.http.status_code = "https://www.example.org/", "GET", 200
        m.http.timings.total_ms = 120.0
        m.http.body_length = 1256
        m.http.body_sha256 = "ab" * 32
    else:
        m.outcome = measurement_pb2.OUTCOME_OK
        m.tcp.address, m.tcp.port, m.tcp.connect_ms = target, task.target.port, 21.0
    return m


def start_collector(
    data_dir: Path, asn_files: list[Path], ingest_processes: int | None
) -> tuple[subprocess.Popen[str], str]:
    args = [sys.executable, "-m", "vantage.cli", "collector", "serve", "--plaintext",
            "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--round-seconds", "3600",
            "--log-level", "WARNING", "--allow-range", BENCH_RANGE]  # fmt: skip
    if ingest_processes is not None:
        args += ["--ingest-processes", str(ingest_processes)]
    for path in asn_files:
        args += ["--asn-db", str(path)]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:
        if line.startswith("collector listening on "):
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, line.split("collector listening on ", 1)[1].strip()
        if time.monotonic() > deadline:
            break
    process.kill()
    raise RuntimeError("collector did not start")


def stream(
    channel: grpc.Channel,
    credential: str,
    batches: list[bytes],
    acks: queue.Queue[object],
    in_flight: int = IN_FLIGHT,
) -> None:
    call = channel.stream_stream(
        SUBMIT,
        request_serializer=lambda raw: raw,
        response_deserializer=probe_service_pb2.BatchAck.FromString,
    )
    window = threading.Semaphore(in_flight)

    def requests() -> Iterator[bytes]:
        for raw in batches:
            window.acquire()
            yield raw

    try:
        accepted = 0
        for ack in call(requests(), metadata=bearer_metadata(credential), timeout=600):
            accepted += ack.accepted
            window.release()
        acks.put(accepted)
    except grpc.RpcError as exc:
        acks.put(exc)


def process_cpu_s(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of a process, and of its live descendants (the ingest worker
    processes), from Linux /proc, to compare work under a busy machine."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            parents[int(entry.name)] = int(fields[1])
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in family]
        family.update(children)
        frontier += children
    own = descendants = 0.0
    for member in family:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if member == pid:
            own = seconds
        else:
            descendants += seconds
    return own, descendants


def bare_sqlite(path: Path, batches: list[ResultBatchRecord]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to store the batches as the collector's SQLite storage does
    (ids, batch row, its round; one transaction per batch), same schema and pragmas."""
    SqliteStorage(path).close()  # creates the schema (migrations)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    started, cpu_started = time.perf_counter(), time.process_time()
    for batch in batches:
        ids = batch.measurement_ids
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(INSERT_IDS_FROM_BLOB, (ids,))
        key = conn.execute(INSERT_BATCH, batch_params(batch, ())).lastrowid
        for number in batch.rounds:
            conn.execute(INSERT_BATCH_ROUND, (number, key))
        conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    conn.close()
    return elapsed, cpu


def real_lookups(count: int, rng: random.Random) -> str:
    files = [SHARED_DATA / name for name in REAL_FILES]
    if not all(f.exists() for f in files):
        return f"AS lookups: skipped ({SHARED_DATA} not present)"
    from vantage.collector.asn.database import AsnDatabase

    started = time.perf_counter()
    db = AsnDatabase.load(files)
    load_s = time.perf_counter() - started
    addresses = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(count)
    ]
    started = time.perf_counter()
    found = sum(1 for a in addresses if db.lookup(a) is not None)
    elapsed = time.perf_counter() - started
    return (
        f"AS lookups on the real dataset ({db.range_count:,} ranges, loaded in {load_s:.1f} s): "
        f"{count / elapsed:,.0f} lookups/s uncached ({found / count:.0%} found)"
    )


def bench_targets() -> list[str]:
    return [f"198.{18 + (i >> 8) % 2}.{i % 256}.{1 + (i >> 9) % 250}" for i in range(TARGETS)]


def enroll_probes(
    channel: grpc.Channel, data_dir: Path, count: int
) -> list[tuple[probe_service_pb2.EnrollResponse, probe_service_pb2.WorkPlan]]:
    """Probes enrolled, each with its work plan (GetWork) over the benchmark's targets."""
    admin = admin_service_pb2_grpc.AdminServiceStub(channel)
    probe_stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
    admin_md = bearer_metadata(read_credential_file(data_dir / "admin.credential"))
    specs = [
        admin_service_pb2.TargetSpec(target=address, protocols=list(PROTOCOL_MIX), tags=[TCP_PORT_TAG])
        for address in bench_targets()
    ]
    admin.ImportTargets(admin_service_pb2.ImportTargetsRequest(targets=specs), metadata=admin_md)
    enrolled = []
    for n in range(count):
        request = admin_service_pb2.CreateEnrollmentTokenRequest(name=f"bench-{n}")
        token = admin.CreateEnrollmentToken(request, metadata=admin_md).token
        enrolled.append(
            probe_stub.Enroll(probe_service_pb2.EnrollRequest(enrollment_token=token, name=f"bench-{n}"))
        )
    capabilities = probe_service_pb2.ProbeCapabilities(icmp=True)
    probes = []
    for probe in enrolled:  # after every enrollment: each plan is made for the whole fleet
        plan = probe_stub.GetWork(
            probe_service_pb2.GetWorkRequest(capabilities=capabilities),
            metadata=bearer_metadata(probe.credential),
        )
        if not plan.tasks:
            raise RuntimeError(f"probe {probe.probe_id} got no tasks")
        probes.append((probe, plan))
    return probes


def build_batches(
    rng: random.Random,
    probe: tuple[probe_service_pb2.EnrollResponse, probe_service_pb2.WorkPlan],
    count: int,
    batch_size: int,
    now: float,
    ids: str,
) -> tuple[list[bytes], list[ResultBatchRecord]]:
    """(serialized ResultBatches for the wire, the same batches as the collector stores them)."""
    probe_id, plan = probe[0].probe_id, probe[1]
    by_protocol = tasks_by_protocol(plan)
    wire: list[bytes] = []
    stored: list[ResultBatchRecord] = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        ms = [make_measurement(rng, plan, by_protocol, probe_id, now, ids, start + n) for n in range(size)]
        raw = probe_service_pb2.ResultBatch(
            batch_id=f"{probe_id}-{start}", measurements=ms
        ).SerializeToString()
        wire.append(raw)
        started = [m.started_at.seconds + m.started_at.nanos * 1e-9 for m in ms]
        stored.append(
            ResultBatchRecord(
                probe_id=probe_id,
                probe_asn=64600,
                probe_country="NL",
                received_at_unix_s=now,
                first_started_at_unix_s=min(started),
                last_started_at_unix_s=max(started),
                rounds=tuple(sorted({m.round for m in ms})),
                measurement_ids=b"".join(uuid.UUID(m.id).bytes for m in ms),
                target_asns=struct.pack(f"<{size}I", *([64512] * size)),
                payload=raw,
            )
        )
    return wire, stored


def run_streams(
    channel: grpc.Channel,
    probes: list[tuple[probe_service_pb2.EnrollResponse, probe_service_pb2.WorkPlan]],
    serialized: list[list[bytes]],
    in_flight: int = IN_FLIGHT,
) -> tuple[int, float]:
    """(results acked, seconds from the first batch sent to the last ack)."""
    acks: queue.Queue[object] = queue.Queue()
    threads = [
        threading.Thread(target=stream, args=(channel, p.credential, batches, acks, in_flight))
        for (p, _), batches in zip(probes, serialized, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    results = [acks.get() for _ in threads]
    for result in results:
        if isinstance(result, Exception):
            raise RuntimeError(f"stream failed: {result}")
    return sum(r for r in results if isinstance(r, int)), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=int, default=200_000, help="measurements in all (default 200000)")
    parser.add_argument("--batch", type=int, default=1000, help="measurements per batch (default 1000)")
    parser.add_argument("--streams", type=int, default=4, help="concurrent probes/streams (default 4)")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=IN_FLIGHT,
        help=f"batches each stream sends ahead of their acks (default {IN_FLIGHT}, as `vantage probe run`)",
    )
    parser.add_argument(
        "--no-real-data", action="store_true", help="do not load ../shared/data into the collector"
    )
    parser.add_argument(
        "--ids",
        choices=("probe", "random"),
        default="probe",
        help="measurement ids as `vantage probe run` makes them (round-major UUIDv8, the default)"
        " or random UUIDv4s (what a third-party uploader might send)",
    )
    parser.add_argument(
        "--ingest-processes",
        type=int,
        default=None,
        help="the collector's --ingest-processes (default: its own default, one per core)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (0 < args.results <= 2_000_000) or args.batch <= 0 or args.streams <= 0:
        parser.error("--results (1..2000000), --batch and --streams must be positive")
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="vantage-bench-ingest-") as scratch:
        folder = Path(scratch)
        synthetic = folder / "bench-asn.csv"
        synthetic_asn_csv(synthetic)
        asn_files = [synthetic]
        if not args.no_real_data and all((SHARED_DATA / f).exists() for f in REAL_FILES):
            asn_files += [SHARED_DATA / f for f in REAL_FILES]
        process, address = start_collector(folder / "collector", asn_files, args.ingest_processes)
        try:
            options = [
                ("grpc.max_send_message_length", 64 << 20),
                ("grpc.max_receive_message_length", 64 << 20),
            ]
            with grpc.insecure_channel(address, options=options) as channel:
                probes = enroll_probes(channel, folder / "collector", args.streams + 1)
                warm_probe, probes = probes[0], probes[1:]
                now = time.time()
                # Untimed warm-up, as a collector that has been up for a while: its first large
                # batches start the ingest worker processes (collector/service/ingest_pool.py).
                warm_wire, _ = build_batches(
                    rng, warm_probe, WARMUP_BATCHES * args.batch, args.batch, now, args.ids
                )
                warmed, _ = run_streams(channel, [warm_probe], [warm_wire])
                time.sleep(WARMUP_PAUSE_S)
                per_stream = args.results // args.streams
                print(f"building {per_stream * args.streams:,} measurements ...", file=sys.stderr)
                built = [build_batches(rng, p, per_stream, args.batch, now, args.ids) for p in probes]
                cpu_before, load_cpu_before = process_cpu_s(process.pid), time.process_time()
                accepted, elapsed = run_streams(channel, probes, [wire for wire, _ in built], args.in_flight)
                cpu_after = process_cpu_s(process.pid)
                main_cpu, workers_cpu = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
                collector_cpu = main_cpu + workers_cpu
                load_cpu = time.process_time() - load_cpu_before
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        stored = SqliteStorage(folder / "collector" / "collector.sqlite3")
        try:
            count = stored.count_measurements()
        finally:
            stored.close()
        row_batches = [batch for _, stored_batches in built for batch in stored_batches]
        total = sum(batch.items for batch in row_batches)
        size = sum(len(raw) for wire, _ in built for raw in wire)
        bare_s, bare_cpu = bare_sqlite(folder / "bare.sqlite3", row_batches)

    ours, peer = accepted / elapsed, total / bare_s
    workers = "default (one per core)" if args.ingest_processes is None else args.ingest_processes
    print(
        f"ingest: {total:,} results, batches of {args.batch}, {args.streams} streams, {size // total} B each,"
        f" {args.ids} ids, ingest processes: {workers}"
    )
    print(f"  collector (gRPC, validate, AS map, durable commit): {ours:>9,.0f} results/s ({elapsed:.2f} s)")
    print(f"  bare SQLite insert, same rows/schema/pragmas:       {peer:>9,.0f} results/s ({bare_s:.2f} s)")
    ours_us, peer_us = collector_cpu / total * 1e6, bare_cpu / total * 1e6
    print(f"  CPU per result: collector and ingest processes {ours_us:.1f} us, bare SQLite {peer_us:.1f} us"
          f" (ratio {peer_us / ours_us:.2f}); load average {os.getloadavg()[0]:.1f}"
          f" on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"    collector process {main_cpu / total * 1e6:.1f} us, its ingest processes"
          f" {workers_cpu / total * 1e6:.1f} us, load generator {load_cpu / total * 1e6:.1f} us")  # fmt: skip
    verdict = "met" if ours >= 100_000 else "NOT met"
    print(f"  ratio collector / bare SQLite: {ours / peer:.2f}; target 100,000 results/s {verdict}; "
          f"RIPE Atlas average ~15,000/s: x{ours / 15_000:.1f}")  # fmt: skip
    print(f"  acked {accepted:,}, stored {count - warmed:,} (must be equal); warm-up: {warmed:,} more")
    print(real_lookups(200_000, rng))
    return 0 if accepted == count - warmed == total else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
