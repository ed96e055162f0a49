"""The measurement kinds: one table, read by the probe and the collector alike.

Each kind of measurement (ICMP echo, a DNS query, an HTTP fetch, a TCP connect) is declared
here once: its name, its vantage.v1 wire number, its default port, whether it needs a raw
socket, and the modules that hold its options type, its pure step and its driver. Validation,
target files, CLI tables, probe capabilities, the engine's dispatch and the conversions derive
from this table instead of restating the set; tests/test_protocols.py checks that the table and
the proto's Protocol enum agree, and fails when another module spells the set out again.

Modules are named by dotted strings and imported only when asked for (`import_module`), so
importing this table costs nothing: `vantage probe measure icmp` must not load dnspython or
h11, and the collector never loads a probe driver. No protobuf here either.

Adding a kind: docs/probe-engine.md "Adding a measurement kind".
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, NamedTuple

from vantage.kinds import Protocol

__all__ = [
    "DNS",
    "HTTP",
    "ICMP",
    "KINDS",
    "OPTIONS_MODULE",
    "TCP",
    "MeasurementKind",
    "kind_named",
    "kind_of",
    "listed_names",
]

# Every options type is a frozen dataclass in the engine's model (a pure module).
OPTIONS_MODULE = "vantage.probe.engine.model"


# A NamedTuple, not a frozen dataclass: just as immutable and typed, and its class costs a tenth
# to create; `vantage probe measure icmp` imports this table, and its start-up is benchmarked.
class MeasurementKind(NamedTuple):
    protocol: Protocol  # the vantage.v1.Protocol number
    name: str  # lower case: target files, CLI tables, metric labels
    default_port: int  # 0 = none (the target names it, or the kind has no ports)
    # A raw (ICMP) socket: a probe without one cannot measure this kind and says so in its
    # capabilities (ProbeCapabilities.icmp); the engine runs these as one sweep per socket.
    needs_raw_socket: bool
    options_class: str  # a class in OPTIONS_MODULE
    step_module: str  # the pure step (what to send, what came back), "" when there is none
    # The asyncio driver. A raw-socket kind's driver runs a sweep (engine/icmp/driver.py);
    # any other driver module has `async def measure(request, context) -> MeasurementResult`.
    driver_module: str

    def options_type(self) -> type:
        options_type: type = getattr(import_module(OPTIONS_MODULE), self.options_class)
        return options_type

    def driver(self) -> Any:
        return import_module(self.driver_module)


_ENGINE = "vantage.probe.engine"

ICMP = MeasurementKind(
    Protocol.ICMP,
    "icmp",
    default_port=0,
    needs_raw_socket=True,
    options_class="IcmpOptions",
    step_module=f"{_ENGINE}.icmp.session",  # the sweep's book-keeping
    driver_module=f"{_ENGINE}.icmp.driver",
)
DNS = MeasurementKind(
    Protocol.DNS,
    "dns",
    default_port=53,  # RFC 1035 §4.2
    needs_raw_socket=False,
    options_class="DnsOptions",
    step_module=f"{_ENGINE}.dns.step",
    driver_module=f"{_ENGINE}.dns.driver",
)
HTTP = MeasurementKind(
    Protocol.HTTP,
    "http",
    default_port=80,  # RFC 9110 §4.2.1; an https:// URL's 443 comes from its scheme
    needs_raw_socket=False,
    options_class="HttpOptions",
    step_module=f"{_ENGINE}.http.step",
    driver_module=f"{_ENGINE}.http.driver",
)
TCP = MeasurementKind(
    Protocol.TCP,
    "tcp",
    default_port=0,  # a TCP target always names its port
    needs_raw_socket=False,
    options_class="TcpOptions",
    step_module="",
    driver_module=f"{_ENGINE}.tcp_driver",
)
# The table, in wire-number order (capabilities and CLI listings keep this order).
KINDS: tuple[MeasurementKind, ...] = (ICMP, DNS, HTTP, TCP)

_BY_NUMBER = {int(kind.protocol): kind for kind in KINDS}
_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_of(number: int) -> MeasurementKind | None:
    """The kind with this wire number; None for UNSPECIFIED and numbers this version lacks."""
    return _BY_NUMBER.get(number)


def kind_named(name: str) -> MeasurementKind | None:
    return _BY_NAME.get(name)


def listed_names(conjunction: str = "or", *, upper: bool = False) -> str:
    """The names as prose for error messages: "icmp, dns, http or tcp"."""
    names = [kind.name.upper() if upper else kind.name for kind in KINDS]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
