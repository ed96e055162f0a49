"""A small HTTP server for /metrics that serves pre-rendered families without re-formatting them.

`render_registry` walks a registry once: `RenderedFamily` objects contribute
their cached bytes (or cached gzip member), every other family is formatted by
prometheus_client's own `generate_latest`. The response is written chunk by
chunk, so a 60 MB scrape of 75,000 ASes is never copied into one buffer.
Always the classic text format (version 0.0.4), which Prometheus accepts
whatever it asks for first.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from vantage.collector.metrics.text import RenderedFamily, gzip_bytes

__all__ = ["CONTENT_TYPE", "MetricsServer", "render_registry", "start_metrics_server"]

# The classic text format, spelled out: prometheus_client's CONTENT_TYPE_LATEST has
# moved to "version=1.0.0" (UTF-8 names), which Prometheus before 3.0 does not name.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Families:
    """A collector yielding a fixed list of families, to hand them to generate_latest."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def render_registry(registry: Collector, *, gzip: bool = False) -> list[bytes]:
    """The registry's exposition as chunks (gzip: concatenated gzip members)."""
    chunks: list[bytes] = []
    pending: list[Metric] = []

    def flush() -> None:
        if pending:
            text = generate_latest(_Families(pending))
            chunks.append(gzip_bytes(text) if gzip else text)
            pending.clear()

    for family in registry.collect():
        if isinstance(family, RenderedFamily):
            if not family.body:
                continue  # no samples: a HELP without series only clutters the scrape
            flush()
            chunks.append(family.gzip_member() if gzip else family.encoded())
        else:
            pending.append(family)
    flush()
    return chunks


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, b'<html><body><a href="/metrics">/metrics</a></body></html>\n', "text/html")
            return
        if path != "/metrics":
            self._send(404, b"not found: try /metrics\n", "text/plain")
            return
        accept_encoding = self.headers.get("Accept-Encoding", "")
        gzip = "gzip" in accept_encoding
        try:
            chunks = render_registry(self.server.registry, gzip=gzip)
        except Exception as error:  # a broken collector must not kill the server thread
            self._send(500, f"error rendering metrics: {error}\n".encode(), "text/plain")
            raise
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(sum(len(chunk) for chunk in chunks)))
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(chunk)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Prometheus scrapes every few seconds; a line per scrape would drown the collector's log.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: Collector) -> None:
        self.registry = registry
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class MetricsServer:
    """A running /metrics endpoint; `close()` stops it and frees the port."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.host: str = str(server.server_address[0])
        self.port: int = int(server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_metrics_server(registry: Collector, host: str, port: int) -> MetricsServer:
    """Serve `registry` on http://host:port/metrics from a daemon thread (port 0: a free port)."""
    server = _Server((host, port), registry)
    thread = threading.Thread(target=server.serve_forever, name=f"metrics-http-{server.server_address[1]}")
    thread.daemon = True
    thread.start()
    return MetricsServer(server, thread)
