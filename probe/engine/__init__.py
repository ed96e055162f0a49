"""The probe's measurement engine: ICMP, DNS, HTTP(S) and TCP (see docs/probe-engine.md).

    engine = Engine(EngineLimits(max_rate_per_s=100.0, max_concurrency=256))
    async for result in engine.run(requests):
        ...

Pure step logic per protocol (icmp_wire, icmp_session, dns_step, http_step, pacing) and thin
asyncio drivers (icmp_driver, dns_driver, http_driver, tcp_driver); failure_map classifies
OS/TLS/DNS/ICMP errors once, at the edge.
"""

from vantage.probe.engine.engine import Engine, EngineLimits
from vantage.probe.engine.icmp.sockets import IcmpUnavailable
from vantage.probe.engine.model import (
    DnsOptions,
    HttpOptions,
    IcmpOptions,
    MeasurementRequest,
    MeasurementResult,
    TcpOptions,
)

__all__ = [
    "DnsOptions",
    "Engine",
    "EngineLimits",
    "HttpOptions",
    "IcmpOptions",
    "IcmpUnavailable",
    "MeasurementRequest",
    "MeasurementResult",
    "TcpOptions",
]
