"""AddressPolicy: ZMap-form exclusion lists, special-purpose space refused, --allow-range opening."""

from __future__ import annotations

import pytest

from vantage.collector.asn.ipnum import parse_ipv4
from vantage.collector.discovery.policy import (
    AddressPolicy,
    ExclusionError,
    parse_allow_ranges,
    parse_exclusions,
)

EXCLUSIONS = """\
# operators who asked not to be probed
203.0.113.0/25      # a /25, with a trailing comment
198.51.100.7
2001:db8:1::/48

"""


def test_exclusion_list_in_zmap_form() -> None:
    networks = parse_exclusions(EXCLUSIONS, "exclude.txt")
    assert [n.text for n in networks] == ["203.0.113.0/25", "198.51.100.7", "2001:db8:1::/48"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("192.0.2.0/24\n192.0.2.0/33\n", 2),
        ("# header\n\n203.0.113.1/24\n", 3),  # host bits set: a typo, not silently widened
        ("10.0.0.0/8\nnot-a-network\n", 2),
        ("2001:db8::/129\n", 1),
        ("192.0.2.0/+8\n", 1),
    ],
)
def test_bad_exclusion_line_is_named_and_nothing_is_returned(text: str, line: int) -> None:
    with pytest.raises(ExclusionError, match=rf"^exclude\.txt:{line}: not a CIDR network"):
        parse_exclusions(text, "exclude.txt")


def test_bad_allow_range_is_named() -> None:
    with pytest.raises(ExclusionError, match=r"--allow-range '198\.18\.0\.0/33'"):
        parse_allow_ranges(["198.18.0.0/15", "198.18.0.0/33"])


@pytest.mark.parametrize(
    ("address", "reason_part"),
    [
        ("10.1.2.3", "private use"),
        ("127.0.0.1", "loopback"),
        ("192.168.1.1", "private use"),
        ("100.64.0.1", "shared address space"),
        ("169.254.1.1", "link local"),
        ("198.18.3.4", "benchmarking"),
        ("192.0.2.1", "documentation"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "limited broadcast"),
        ("240.0.0.1", "reserved"),
        ("0.1.2.3", "this network"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "unique local"),
        ("2001:db8::1", "documentation"),
        ("ff02::1", "multicast"),
        ("::ffff:44.0.0.1", "IPv4-mapped"),
    ],
)
def test_special_purpose_is_refused_with_its_reason(address: str, reason_part: str) -> None:
    policy = AddressPolicy()
    assert not policy.permits(address)
    assert reason_part in policy.reason(address)
    assert "--allow-range" in policy.reason(address)


@pytest.mark.parametrize(
    "address", ["44.0.0.1", "100.128.0.1", "2a00:1450::1", "192.0.1.255", "198.20.0.0", "11.0.0.0"]
)
def test_ordinary_addresses_are_permitted(address: str) -> None:
    policy = AddressPolicy()
    assert policy.permits(address)
    assert policy.reason(address) == ""


def test_allow_range_opens_special_purpose_but_never_an_exclusion() -> None:
    excluded = parse_exclusions("198.18.5.0/24\n", "x")
    policy = AddressPolicy(excluded, parse_allow_ranges(["198.18.0.0/15"]))
    assert policy.permits("198.18.0.1")
    assert policy.permits("198.19.255.255")
    assert not policy.permits("198.18.5.9")
    assert policy.reason("198.18.5.9") == "excluded by 198.18.5.0/24"
    assert policy.permits("198.17.255.255")  # outside special space: permitted
    assert not policy.permits("10.0.0.1")  # the rest of special space stays refused


def test_exclusions_refuse_ordinary_space() -> None:
    policy = AddressPolicy(parse_exclusions(EXCLUSIONS, "exclude.txt"))
    assert not policy.permits("203.0.113.127")
    assert not policy.permits("203.0.113.128")  # TEST-NET-3 stays special-purpose
    assert not policy.permits("198.51.100.7")
    assert not policy.permits("2001:db8:1::5")


def test_block_level_checks() -> None:
    policy = AddressPolicy(parse_exclusions("8.8.8.128/25\n", "x"))

    def span(first: str, last: str) -> tuple[int, int]:
        return parse_ipv4(first), parse_ipv4(last)

    assert policy.permits_all(4, *span("8.8.7.0", "8.8.7.255"))
    assert not policy.permits_all(4, *span("8.8.8.0", "8.8.8.255"))
    assert not policy.permits_none(4, *span("8.8.8.0", "8.8.8.255"))
    assert policy.permits_none(4, *span("8.8.8.128", "8.8.8.255"))
    assert policy.permits_none(4, *span("10.0.0.0", "10.0.0.255"))


def test_not_an_address_raises() -> None:
    with pytest.raises(ValueError):
        AddressPolicy().permits("example.org")
