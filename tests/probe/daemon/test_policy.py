"""Local safety caps: what a probe refuses by default, and what --allow-range opens."""

from __future__ import annotations

import pytest

from vantage.probe.daemon.policy import build_policy, check_address, check_addresses, rate_saturation

REFUSED_BY_DEFAULT = [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("100.64.0.1", "cgnat"),
    ("198.18.0.7", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "this-network"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fd00::1", "unique-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:192.168.0.1", "private"),  # IPv4-mapped: judged as the IPv4 host it reaches
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("fe80::1%eth0", "link-local"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_BY_DEFAULT)
def test_special_purpose_ranges_are_refused_by_default(address: str, reason: str) -> None:
    refusal = check_address(address, build_policy())
    assert refusal is not None and refusal.reason == reason
    assert "--allow-range" in refusal.detail


# Public addresses from the real datasets (parsed only: a policy check sends nothing).
@pytest.mark.parametrize("address", ["2.132.0.1", "2.72.0.1", "2a00:1450::1", "193.0.14.129", "2001:200::1"])
def test_public_addresses_pass(address: str) -> None:
    assert check_address(address, build_policy()) is None


def test_allow_range_opens_exactly_that_range() -> None:
    policy = build_policy(allow_ranges=["198.18.0.0/15", "fd00:1::/64"])
    assert check_address("198.18.3.4", policy) is None
    assert check_address("fd00:1::5", policy) is None
    assert check_address("fd00:2::5", policy) is not None
    assert check_address("10.0.0.1", policy) is not None


def test_not_an_address_is_refused_not_guessed() -> None:
    refusal = check_address("example.org", build_policy())
    assert refusal is not None and refusal.reason == "not-an-ip-address"


def test_a_name_with_one_private_answer_is_refused() -> None:
    assert check_addresses(["2.132.0.1", "192.168.0.1"], build_policy()) is not None
    assert check_addresses(["2.132.0.1", "5.34.25.1"], build_policy()) is None


def test_bad_allow_range_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.1/8"):
        build_policy(allow_ranges=["10.0.0.1/8"])


def test_caps_must_be_positive() -> None:
    with pytest.raises(ValueError):
        build_policy(max_rate_per_s=0)
    with pytest.raises(ValueError):
        build_policy(max_concurrency=0)


def test_rate_saturation() -> None:
    policy = build_policy(max_rate_per_s=100)
    assert rate_saturation(10_000, 300.0, policy) == pytest.approx(1 / 3)
    assert rate_saturation(60_000, 300.0, policy) == pytest.approx(2.0)
