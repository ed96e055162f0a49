"""What an ICMP sweep sets up before its first packet (I/O edge: it reads the clock and the rng).

No asyncio here, nor in engine/icmp/fork.py: `vantage probe measure` starts a forked sender through
Engine.prepare before it imports asyncio and the rest of the engine, so that the first packets
leave while the interpreter is still loading (docs/probe-engine.md "ICMP").
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vantage.probe.engine.icmp.packets import EchoCodec
from vantage.probe.engine.icmp.schedule import SendSchedule
from vantage.probe.engine.icmp.sockets import IcmpSocket
from vantage.probe.engine.model import NS_PER_MS, IcmpOptions, MeasurementRequest, distinct_options
from vantage.probe.engine.sweep_requests import IcmpSweep


@dataclass(frozen=True, slots=True)
class SweepPlan:
    addresses: Sequence[str]
    options: Sequence[IcmpOptions]  # per target
    codec: EchoCodec
    schedule: SendSchedule


def plan_sweep(
    icmp_socket: IcmpSocket, requests: Sequence[MeasurementRequest], rng: random.Random
) -> SweepPlan:
    if isinstance(requests, IcmpSweep):  # addresses and options as they are: no request is built
        addresses: Sequence[str] = requests.addresses
        options: list[IcmpOptions] = [requests.options] * len(requests)
    else:
        addresses = [r.address for r in requests]
        options = [_icmp_options(r) for r in requests]
    distinct = distinct_options(options)
    # One packet size per sweep: the largest any request asked for.
    payload_bytes = max(o.payload_bytes for o in distinct)
    kernel_ident = icmp_socket.kernel_ident
    ident = kernel_ident if kernel_ident is not None else rng.getrandbits(16)
    nonce = rng.getrandbits(32)
    codec = EchoCodec(icmp_socket.family, ident, nonce, payload_bytes, icmp_socket.has_ip_header)
    if len(distinct) == 1:  # one count and interval for all
        counts = [distinct[0].count] * len(options)
        intervals_ns = [int(distinct[0].interval_ms * NS_PER_MS)] * len(options)
    else:
        counts, intervals_ns = [o.count for o in options], [int(o.interval_ms * NS_PER_MS) for o in options]
    return SweepPlan(addresses, options, codec, SendSchedule(counts, intervals_ns, time.time_ns()))


def _icmp_options(request: MeasurementRequest) -> IcmpOptions:
    assert isinstance(request.options, IcmpOptions)
    return request.options
