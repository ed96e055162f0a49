"""IcmpSweep: a sweep's requests, built when read, equal to the ones the constructor makes."""

from __future__ import annotations

import pytest

from vantage.probe.engine.model import IcmpOptions, MeasurementRequest
from vantage.probe.engine.sweep_requests import IcmpSweep
from vantage.probe.measure.cli import expand_prefix, ipv4_range

OPTIONS = IcmpOptions(count=2, timeout_ms=500)


def test_requests_equal_the_constructors() -> None:
    addresses = ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
    sweep = IcmpSweep(addresses, OPTIONS, first_key=7)
    expected = [MeasurementRequest(str(7 + i), a, OPTIONS) for i, a in enumerate(addresses)]
    assert len(sweep) == 3 and sweep.family == 4
    assert list(sweep) == expected
    assert sweep[-1] == expected[-1] and sweep[1:] == expected[1:]
    assert type(sweep[0]) is MeasurementRequest
    with pytest.raises(IndexError):
        sweep[3]


def test_ipv6_sweeps_know_their_family() -> None:
    assert IcmpSweep(["fd00::1", "fd00::2"], OPTIONS).family == 6


@pytest.mark.parametrize(
    ("addresses", "options", "message"),
    [
        (["198.18.0.1", "not an address"], OPTIONS, "not an IP address"),
        (["198.18.0.1", "fd00::1"], OPTIONS, "one family"),
        (["198.18.0.1"], IcmpOptions(count=0), "count must be"),
        (["198.18.0.1"], IcmpOptions(timeout_ms=0), "timeout must be positive"),
    ],
)
def test_invalid_sweeps_are_refused(addresses: list[str], options: IcmpOptions, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IcmpSweep(addresses, options)


@pytest.mark.parametrize(
    "prefix", ["198.18.0.0/16", "198.18.3.128/25", "198.18.255.0/23", "198.18.7.4/30", "203.0.113.0/24"]
)
def test_expanded_prefixes_equal_ipaddress_hosts(prefix: str) -> None:
    import ipaddress

    assert expand_prefix(prefix) == [str(a) for a in ipaddress.ip_network(prefix, strict=False).hosts()]


def test_ipv4_range_crosses_blocks() -> None:
    assert ipv4_range(0xC61200FE, 0xC6120101) == ["198.18.0.254", "198.18.0.255", "198.18.1.0", "198.18.1.1"]
