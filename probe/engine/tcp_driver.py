"""The asyncio driver of a TCP connect: success with its time, or why not."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime

from vantage.failures import Failure, Operation
from vantage.kinds import Outcome, Protocol
from vantage.probe.engine.context import DriverContext
from vantage.probe.engine.failure_map import failure_from_exception
from vantage.probe.engine.model import (
    MeasurementRequest,
    MeasurementResult,
    TcpDetails,
    TcpOptions,
)


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One TCP connect (vantage/protocols.py names this module as TCP's driver)."""
    options = request.options
    assert isinstance(options, TcpOptions)
    family = socket.AF_INET6 if ":" in request.address else socket.AF_INET
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    loop = asyncio.get_running_loop()
    failure: Failure | None = None
    connect_ms = 0.0
    source = ""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        try:
            async with asyncio.timeout(options.timeout_ms / 1000):
                await loop.sock_connect(sock, (request.address, options.port))
            connect_ms = (time.perf_counter() - start) * 1000
            source = str(sock.getsockname()[0])
        except (OSError, TimeoutError) as exc:
            failure = failure_from_exception(exc, Operation.CONNECT)
    return MeasurementResult(
        key=request.key,
        protocol=Protocol.TCP,
        address=request.address,
        started_at=started_at,
        duration_ms=(time.perf_counter() - start) * 1000,
        outcome=Outcome.OK if failure is None else Outcome.FAILURE,
        failure=failure,
        details=TcpDetails(address=request.address, port=options.port, connect_ms=connect_ms),
        name=request.name,
        port=options.port,
        target_id=request.target_id,
        address_family=6 if family == socket.AF_INET6 else 4,
        source_address=source,
    )
