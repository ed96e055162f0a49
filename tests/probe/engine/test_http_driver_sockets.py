"""The HTTP driver's socket and TLS set-up, on loopback (issue 18, items 4 and 6)."""

from __future__ import annotations

import asyncio
import socket

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
