"""The asyncio driver of a TCP connect: success with its time, or why not.

Every SYN, retransmissions included, is paid from the run's rate cap (engine/paced.py).
"""

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
from vantage.probe.engine.paced import SYNS_PER_ATTEMPT, TCPI_RTT, Budget, connect_tcp, tcp_info


async def measure(request: MeasurementRequest, context: DriverContext) -> MeasurementResult:
    """One TCP connect (vantage/protocols.py names this module as TCP's driver)."""
    options = request.options
    assert isinstance(options, TcpOptions)
    family = socket.AF_INET6 if ":" in request.address else socket.AF_INET
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    failure: Failure | None = None
    connect_ms = connect_rtt_ms = 0.0
    source = ""
    budget = Budget(context.pacer)
    try:
        async with asyncio.timeout(options.timeout_ms / 1000):
            # Paid before connect_ms's clock starts: the connect time is the network's, not the
            # cap's; the measurement's duration (from started_at) includes the wait.
            await budget.spend(SYNS_PER_ATTEMPT)
            connect_start = time.perf_counter()
            sock = await connect_tcp(request.address, options.port, budget, paid=True)
            with sock:
                connect_ms = (time.perf_counter() - connect_start) * 1000
                connect_rtt_ms = handshake_rtt_ms(sock)
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
        details=TcpDetails(request.address, options.port, connect_ms, connect_rtt_ms),
        name=request.name,
        port=options.port,
        target_id=request.target_id,
        address_family=6 if family == socket.AF_INET6 else 4,
        source_address=source,
    )


# Right after the handshake tcpi_rtt is the SYN/SYN-ACK round trip itself: the first sample
# sets it (net/ipv4/tcp_input.c tcp_rtt_estimator), timed by the kernel when the SYN-ACK
# arrived, however late the event loop reads the socket.
def handshake_rtt_ms(sock: socket.socket) -> float:
    """The kernel's round-trip time of a just-connected TCP socket; 0.0 when it has none."""
    try:
        return tcp_info(sock)[TCPI_RTT] / 1000
    except OSError:
        return 0.0
