"""An HTTP redirect into a refused range is refused, not followed (real loopback servers).

The daemon checks a task's address before measuring, but a redirect's host is only known
mid-measurement: the engine asks the caller's address guard about every address it meets.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from vantage.kinds import Outcome
from vantage.probe.engine import Engine, EngineLimits
from vantage.probe.engine.model import HttpDetails, HttpOptions, MeasurementRequest, MeasurementResult


class _Redirector(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # the http.server naming convention
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<title>inside</title>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def redirect_server() -> Iterator[int]:
    """A server on 127.0.0.1 redirecting to a twin on 127.0.0.2: the "private network" here."""
    outside = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    inside = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Redirector)
    _Redirector.target = f"http://127.0.0.2:{inside.server_address[1]}/inside"
    servers = (outside, inside)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield outside.server_address[1]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _measure(port: int, guard: EngineLimits) -> list[MeasurementResult]:
    request = MeasurementRequest(
        key="k", address="", options=HttpOptions(url=f"http://127.0.0.1:{port}/redirect", timeout_ms=5000)
    )

    async def collect() -> list[MeasurementResult]:
        return [result async for result in Engine(guard).run([request])]

    return asyncio.run(collect())


def _refuse_127_0_0_2(address: str) -> str | None:
    return "127.0.0.2 is private to this test" if address == "127.0.0.2" else None


def test_redirect_into_a_refused_address_is_refused(redirect_server: int) -> None:
    [result] = _measure(redirect_server, EngineLimits(address_guard=_refuse_127_0_0_2))
    assert result.outcome == Outcome.REFUSED_BY_POLICY
    assert result.failure is not None
    assert result.failure.kind == "refused_by_policy"
    assert "127.0.0.2" in result.failure.detail


def test_without_a_guard_the_redirect_is_followed(redirect_server: int) -> None:
    [result] = _measure(redirect_server, EngineLimits())
    assert result.outcome == Outcome.OK
    assert isinstance(result.details, HttpDetails)
    assert result.details.status_code == 200
    assert len(result.details.redirects) == 1
