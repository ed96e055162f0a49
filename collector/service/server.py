"""Assemble and run the collector: storage, credentials, gRPC server, round loop.

grpc.aio, not the thread-pool server: every probe holds a SubmitResults
stream open, and a thread-per-stream server would need one thread per probe
(thousands). With asyncio, idle streams cost a coroutine each; the CPU and
blocking work of a batch (validation, commit) runs on a small thread pool
(app.executor), where SQLite releases the GIL during its disk work, so one
batch's commit overlaps the next batch's validation.

Shutdown on SIGTERM/SIGINT: health goes NOT_SERVING, the server stops taking
new calls and gives in-flight ones a grace period (a batch being committed
finishes; its ack may not reach the probe, which resends it: idempotent),
then the worker threads drain and the database is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import _async as reflection_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from vantage.collector.service.address_guard import AddressGuard, GuardSource
from vantage.collector.service.admin_service import AdminService
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import (
    ADMIN_CREDENTIAL_FILE,
    READER_CREDENTIAL_FILE,
    READER_CREDENTIAL_PREFIX,
    ensure_credential_file,
    hash_secret,
    new_id,
)
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.ingest_pool import IngestPool
from vantage.collector.service.locator import Locator
from vantage.collector.service.probe_service import ProbeService
from vantage.collector.service.probe_service import add_to_server as add_probe_service
from vantage.collector.service.query_service import QueryService
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.service.rpc_metrics import RpcMetricsInterceptor
from vantage.collector.storage import open_storage
from vantage.collector.storage.records import CredentialRole
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    probe_service_pb2,
    query_service_pb2,
    query_service_pb2_grpc,
)

log = logging.getLogger("vantage.collector")

# In-flight calls get this long to finish on shutdown (a batch commit takes ms).
SHUTDOWN_GRACE_S = 5.0
SERVICE_NAMES = (
    probe_service_pb2.DESCRIPTOR.services_by_name["ProbeService"].full_name,
    query_service_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    listen: str
    data_dir: Path
    config: CollectorConfig
    plaintext: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    metrics_listen: str | None = None
    asn_db: Sequence[Path] = field(default_factory=tuple)
    db_url: str | None = None
    ingest_processes: int = 0  # worker processes for large batches (ingest_pool.py)
    # The address policy (address_guard.py): ZMap-form exclusion list, ranges opened.
    exclude_file: Path | None = None
    allow_ranges: tuple[str, ...] = ()
    # A second, local listener without TLS (gRPC's unix:PATH), e.g. for a web front end in another
    # network namespace of the same machine (the lab demo).
    listen_unix: Path | None = None


def make_private(data_dir: Path) -> None:
    """Owner-only, at every start (mkdir's mode applies only when it creates the directory, and
    SQLite creates its files 0644 under the usual umask): the data dir holds credential hashes,
    every raw result and the admin credential."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o700)


def split_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def format_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def prepare_credentials(app_storage: Any, data_dir: Path, *, require_reader: bool, now_unix_s: float) -> None:
    credential, created = ensure_credential_file(data_dir / ADMIN_CREDENTIAL_FILE)
    app_storage.add_credential(hash_secret(credential), CredentialRole.ADMIN, now_unix_s)
    if created:
        log.info("admin credential created in %s (mode 0600)", data_dir / ADMIN_CREDENTIAL_FILE)
    if require_reader:
        reader, _ = ensure_credential_file(data_dir / READER_CREDENTIAL_FILE, READER_CREDENTIAL_PREFIX)
        app_storage.add_credential(hash_secret(reader), CredentialRole.READER, now_unix_s)


def start_metrics(listen: str | None, bgp_feeds: Any = None) -> tuple[Any, Any]:
    """(CollectorMetrics or None, the HTTP server or None); the route feeds' metrics too."""
    if not listen:
        return None, None
    try:
        from prometheus_client import CollectorRegistry

        from vantage.collector.metrics.service_metrics import CollectorMetrics, start_metrics_server
    except ModuleNotFoundError:
        log.warning("vantage.collector.metrics.service_metrics is not available: --metrics ignored")
        return None, None
    registry = CollectorRegistry(auto_describe=False)
    metrics = CollectorMetrics(registry)
    if bgp_feeds is not None:
        from vantage.collector.metrics.bgp import BgpMetricsCollector

        registry.register(BgpMetricsCollector(bgp_feeds.figures, bgp_feeds.labels))
    host, port = split_host_port(listen)
    server = start_metrics_server(registry, host, port)
    print(f"collector metrics on http://{format_host_port(host, server.port)}/metrics", file=sys.stderr)
    return metrics, server


def build_server(app: CollectorApp) -> tuple[grpc.aio.Server, Any]:
    limit = app.config.max_message_bytes
    # Always installed: besides counting calls, it answers undecodable requests with
    # INVALID_ARGUMENT (rpc_metrics.py).
    metrics = app.metrics
    interceptors = [
        RpcMetricsInterceptor(
            None if metrics is None else lambda method, code: metrics.observe_rpc(method=method, code=code)
        )
    ]
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            # Probes behind NAT keep streams open for long; keepalives keep them honest.
            ("grpc.keepalive_time_ms", 60_000),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.so_reuseport", 0),
        ],
    )
    add_probe_service(ProbeService(app), server)
    query_service_pb2_grpc.add_QueryServiceServicer_to_server(QueryService(app), server)
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(AdminService(app), server)
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection((*SERVICE_NAMES, health.SERVICE_NAME), server)
    return server, health_servicer


# grpcio-reflection implements only v1alpha; grpc.reflection.v1 is the same protocol
# (grpc/reflection/v1/reflection.proto has v1alpha's messages, field for field, under a
# new package), so one servicer answers both, and clients that only speak v1 (newer
# grpcurl, grpc-java, Postman) work too.
REFLECTION_V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    names = (*service_names, reflection.SERVICE_NAME, REFLECTION_V1_SERVICE_NAME)
    servicer = reflection_aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1_handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1_SERVICE_NAME, v1_handlers),)
    )


async def serve(options: ServeOptions, *, on_ready: Callable[[str], None] | None = None) -> int:
    data_dir = options.data_dir
    # First: a bad exclusion file stops the start before anything is opened.
    guard = AddressGuard(GuardSource(options.exclude_file, options.allow_ranges))
    make_private(data_dir)
    storage = open_storage(options.db_url, data_dir)
    make_private(data_dir)  # again: the database files it just created
    locator = Locator(options.asn_db)
    if options.asn_db:
        log.info("ASN datasets: %d ranges from %d file(s)", locator.range_count, len(options.asn_db))
    bgp_feeds = make_bgp_feeds(options.config)
    metrics, metrics_server = start_metrics(options.metrics_listen, bgp_feeds)
    app = CollectorApp(
        storage,
        options.config,
        locator,
        metrics=metrics,
        ingest_pool=IngestPool(options.ingest_processes),
        guard=guard,
        routing=None if bgp_feeds is None else bgp_feeds.snapshot,
    )
    prepare_credentials(
        storage, data_dir, require_reader=options.config.require_reader, now_unix_s=app.clock()
    )
    server, health_servicer = build_server(app)
    host, port = split_host_port(options.listen)
    address = format_host_port(host, port)
    if options.plaintext:
        bound = server.add_insecure_port(address)
    else:
        assert options.tls_cert is not None and options.tls_key is not None
        credentials = grpc.ssl_server_credentials(
            [(options.tls_key.read_bytes(), options.tls_cert.read_bytes())]
        )
        bound = server.add_secure_port(address, credentials)
    if not bound:
        raise OSError(f"cannot listen on {address}")
    if options.listen_unix is not None:
        options.listen_unix.unlink(missing_ok=True)  # a socket left by a previous run
        if not server.add_insecure_port(f"unix:{options.listen_unix}"):
            raise OSError(f"cannot listen on unix:{options.listen_unix}")
    await server.start()
    for name in ("", *SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    # The signals are handled before the collector says it listens: whoever starts it may send
    # SIGHUP as soon as it reads that line (the default action of SIGHUP would end the process).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_guard, app)
    listening = format_host_port(host, bound)
    print(f"collector listening on {listening}", file=sys.stderr, flush=True)
    if options.listen_unix is not None:
        print(f"collector also listening on unix:{options.listen_unix}", file=sys.stderr, flush=True)
    if on_ready is not None:
        on_ready(listening)

    if bgp_feeds is not None:
        await bgp_feeds.start()
        log.info("route feeds: %s", ", ".join(source.name for source in bgp_feeds.sources))
    rounds = RoundLoop(app)
    round_task = asyncio.create_task(rounds.run())
    try:
        await stop.wait()
    finally:
        log.info("shutting down: finishing in-flight calls")
        await health_servicer.enter_graceful_shutdown()
        rounds.stop()
        app.events.close()
        await server.stop(SHUTDOWN_GRACE_S)
        round_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await round_task
        if bgp_feeds is not None:
            await bgp_feeds.stop()
        app.close()
        storage.close()
        if metrics_server is not None:
            metrics_server.close()
        log.info("collector stopped")
    return 0


def make_bgp_feeds(config: CollectorConfig) -> Any:
    """The route feeds `--bgp-source` names (collector/bgp/feeds.py), or None without any."""
    if not config.bgp_sources:
        return None
    from vantage.collector.bgp.feeds import BgpFeeds

    return BgpFeeds(config.bgp_sources)


def reload_guard(app: CollectorApp) -> None:
    """SIGHUP: re-read the exclusion file; a bad file keeps the policy in force."""
    try:
        app.guard.reload()
    except ValueError as exc:
        log.error("exclusion list not reloaded, the previous one stays in force: %s", exc)


def default_collector_id() -> str:
    return f"{socket.gethostname()}-{new_id()[:6]}"
