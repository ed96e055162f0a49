"""The HTTP driver's socket and TLS set-up, on loopback (issue 18, items 4 and 6)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from vantage.probe.engine.http import driver


def test_connections_send_without_nagle() -> None:
    # Item 4: without TCP_NODELAY the request waited behind the unacknowledged TLS Finished.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        async def connect() -> int:
            sock = await driver._connect("127.0.0.1", port)
            with sock:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

        assert asyncio.run(connect()) != 0


def test_tls_contexts_are_made_once_per_configuration() -> None:
    # Item 6: a context per request loaded the system CA store (≈ 40 ms of CPU) every time.
    assert driver.tls_context("", True) is driver.tls_context("", True)
    assert driver.tls_context("", False) is not driver.tls_context("", True)
    assert not driver.tls_context("", False).check_hostname


def test_loop_lag_is_the_worst_seen_while_each_measurement_ran() -> None:
    from vantage.probe.engine.engine import LoopLag

    lag = LoopLag()
    first = lag.begin()
    lag.note(3.0)
    second = lag.begin()
    lag.note(1.0)
    assert (lag.end(first), lag.end(second)) == (3.0, 1.0) and lag.running == 2
    lag.forget(first)
    lag.note(7.5)
    assert lag.end(second) == 7.5 and lag.end(first) == 0.0


def test_connections_keep_receive_timestamps_switched_on() -> None:
    # The kernel's timestamp key was switched on and off around every connection: one socket
    # now holds SO_TIMESTAMPNS for the process, and every connection still asks for stamps.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        async def connect() -> int:
            sock = await driver._connect("127.0.0.1", port)
            with sock:
                return sock.getsockopt(socket.SOL_SOCKET, driver.SO_TIMESTAMPNS)

        assert asyncio.run(connect()) != 0
        assert asyncio.run(connect()) != 0
    assert len(driver._TIMESTAMP_KEEPER) == 1
    assert driver._TIMESTAMP_KEEPER[0].getsockopt(socket.SOL_SOCKET, driver.SO_TIMESTAMPNS) != 0


def test_an_http_run_to_an_address_loads_neither_the_icmp_nor_the_dns_driver() -> None:
    # Start-up of `vantage probe measure http` (issue 18): a run whose URLs give the address
    # (or --resolve) needs neither the ICMP sweep's driver nor the DNS one. A fresh interpreter,
    # since this one may have them loaded already.
    import sys

    program = """
import asyncio, socket, sys, threading
from vantage.kinds import Outcome
from vantage.probe.engine import Engine, HttpOptions, MeasurementRequest
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
def serve():
    for _ in range(2):
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
        conn.close()
threading.Thread(target=serve, daemon=True).start()
requests = [MeasurementRequest(str(i), "127.0.0.1", HttpOptions(url=f"http://127.0.0.1:{port}/"))
            for i in range(2)]
async def run():
    return [r async for r in Engine().run(requests)]
results = asyncio.run(run())
assert [r.outcome for r in results] == [Outcome.OK, Outcome.OK], results
loaded = [m for m in ("vantage.probe.engine.icmp.driver", "vantage.probe.engine.dns.driver")
          if m in sys.modules]
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def test_the_per_request_caches_give_what_the_uncached_calls_give(tmp_path: Path) -> None:
    # Issue 18 (CPU per request): the URL, the GET's head and the certificate's facts are made
    # once per distinct input. Each must be what the call it stands for returns, and an input
    # that fails must fail again every time (lru_cache keeps no exception).
    import h11

    from vantage.probe.engine.http import step as http_step
    from vantage.probe.engine.http.certificate import certificate_facts

    for url in ("http://example.test/", "https://[2001:db8::1]:8443/a?b=c", "HTTP://192.0.2.1/"):
        assert driver._parse_url(url) == http_step.parse_url(url)
        assert driver._parse_url(url) is driver._parse_url(url)
    for _ in range(2):
        with pytest.raises(ValueError):
            driver._parse_url("ftp://example.test/")

    def head_bytes(head: h11.Request) -> bytes:
        connection = h11.Connection(h11.CLIENT)
        return (connection.send(head) or b"") + (connection.send(h11.EndOfMessage()) or b"")

    uncached = h11.Request(method="GET", target="/a?b=c", headers=[("Host", "example.test:8443"),
                           ("User-Agent", http_step.USER_AGENT), ("Accept", "*/*"),
                           ("Connection", "close")])  # fmt: skip
    cached = driver._request_head("/a?b=c", "example.test:8443")
    assert head_bytes(cached) == head_bytes(uncached) == head_bytes(cached)  # sending left it as it was
    for _ in range(2):
        with pytest.raises(h11.LocalProtocolError):
            head_bytes(driver._request_head("/", "bad host\r\n"))

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    key, pem = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(pem), "-days", "3", "-subj", "/CN=www.example.test",
                    "-addext", "subjectAltName=DNS:www.example.test"],
                   check=True, capture_output=True)  # fmt: skip
    der = ssl.PEM_cert_to_DER_cert(pem.read_text())
    assert driver._certificate_facts(der) == certificate_facts(der)
    for _ in range(2):
        with pytest.raises(ValueError):
            driver._certificate_facts(b"\x30\x05\x02\x01")
