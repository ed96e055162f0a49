"""The DNS driver's callback path (engine/dns/driver.py, start_on_callbacks) inside the engine,
against a real UDP server on loopback: the same results as the task path, no socket left open
when a run stops early, and a bug in it raised by the run instead of a hang."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Iterator
from dataclasses import replace

import dns.message
import dns.rrset
import pytest

from vantage.kinds import Outcome
from vantage.probe.engine import DnsOptions, Engine, EngineLimits, MeasurementRequest
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.dns import driver as dns_driver
from vantage.probe.engine.dns import step as dns_step
from vantage.probe.engine.model import DnsDetails, MeasurementResult


@pytest.fixture
def server() -> Iterator[socket.socket]:
    """A UDP socket on loopback; the tests answer (or not) from it themselves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _requests(server: socket.socket, count: int, timeout_ms: int = 30_000) -> list[MeasurementRequest]:
    port = server.getsockname()[1]
    return [
        MeasurementRequest(
            str(i),
            "127.0.0.1",
            DnsOptions(
                query_name=f"n{i}.lab.test",
                query_type="A",
                port=port,
                expected=("192.0.2.1",),
                timeout_ms=timeout_ms,
            ),
            name=f"n{i}.lab.test",
        )
        for i in range(count)
    ]


async def _answer(server: socket.socket, count: int, answer: str = "192.0.2.1") -> None:
    loop = asyncio.get_running_loop()
    for _ in range(count):
        query, peer = await loop.sock_recvfrom(server, 4096)
        response = dns.message.make_response(dns.message.from_wire(query))
        name = response.question[0].name
        response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", answer))
        await loop.sock_sendto(server, response.to_wire(), peer)


async def _run(engine: Engine, requests: list[MeasurementRequest]) -> list[MeasurementResult]:
    return [result async for result in engine.run(requests)]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_answers_are_judged_as_the_task_path_judges_them(server: socket.socket, concurrency: int) -> None:
    async def main() -> tuple[list[MeasurementResult], MeasurementResult]:
        engine = Engine(EngineLimits(max_rate_per_s=1_000_000, max_concurrency=concurrency))
        requests = _requests(server, 7)
        answering = asyncio.create_task(_answer(server, 8, "192.0.2.9"))
        results = await _run(engine, requests)
        # The same request through the task path (`measure`), for comparison.

        single = await dns_driver.measure(requests[0], DriverContext(rng=random.Random(1)))
        await answering
        return results, single

    results, single = asyncio.run(main())
    assert sorted(r.key for r in results) == [str(i) for i in range(7)]
    for result in results:
        assert result.outcome is Outcome.MISMATCH  # 192.0.2.9 is outside the expected set
        assert result.probe_load is not None and 1 <= result.probe_load.in_flight <= concurrency
    first = next(r for r in results if r.key == "0")
    assert isinstance(first.details, DnsDetails) and isinstance(single.details, DnsDetails)
    unclocked = {"response_time_ms": 0.0, "abuf": b""}
    assert replace(first.details, **unclocked) == replace(single.details, **unclocked)
    assert first.details.abuf[2:] == single.details.abuf[2:]  # the same answer, another query id
    assert (first.protocol, first.address, first.port, first.address_family, first.name) == (
        single.protocol,
        single.address,
        single.port,
        single.address_family,
        single.name,
    )


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_run_stopped_early_leaves_no_socket_open(server: socket.socket) -> None:
    async def main() -> tuple[int, int]:
        before = _open_fds()
        engine = Engine(EngineLimits(max_rate_per_s=1_000_000, max_concurrency=4))
        run = asyncio.create_task(_run(engine, _requests(server, 4)))
        loop = asyncio.get_running_loop()
        for _ in range(4):  # every query is out (and nobody answers)
            await loop.sock_recvfrom(server, 4096)
        during = _open_fds()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        return during - before, _open_fds() - before

    during, after = asyncio.run(main())
    assert during >= 4  # one socket per query in flight
    assert after == 0


def test_a_bug_on_the_callback_path_is_raised_by_the_run(
    server: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(options: DnsOptions, exchange: dns_step.Exchange) -> None:
        raise RuntimeError("bug in interpret")

    monkeypatch.setattr(dns_step, "interpret", broken)

    async def main() -> None:
        engine = Engine(EngineLimits(max_rate_per_s=1_000_000, max_concurrency=1))
        answering = asyncio.create_task(_answer(server, 1))
        try:
            await _run(engine, _requests(server, 3))
        finally:
            answering.cancel()

    with pytest.raises(RuntimeError, match="bug in interpret"):
        asyncio.run(main())


def test_a_silent_server_times_out_as_on_the_task_path(server: socket.socket) -> None:
    async def main() -> list[MeasurementResult]:
        engine = Engine(EngineLimits(max_rate_per_s=1_000_000, max_concurrency=2))
        return await _run(engine, _requests(server, 2, timeout_ms=50))

    results = asyncio.run(main())
    assert [r.outcome for r in results] == [Outcome.FAILURE] * 2
    for result in results:
        assert result.failure is not None
        assert (result.failure.kind, result.failure.detail) == ("generic_timeout_error", "TimeoutError:")
        assert result.details is not None and result.details.transport == "udp"  # type: ignore[union-attr]
