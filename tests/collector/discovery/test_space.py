"""Address space -> /24 blocks, the database's enumeration API, and the scope errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.collector.asn.test_database import IP_LOCATION_DB_ASN, IP_LOCATION_DB_COUNTRY, write
from vantage.collector.asn.database import AsnDatabase, Ipv4Range
from vantage.collector.asn.ipnum import parse_ipv4
from vantage.collector.discovery.space import (
    BlockSpan,
    ScopeError,
    block_cidr,
    check_scope,
    count_blocks,
    ipv6_block_cidr,
    parse_block_cidr,
    split_into_blocks,
)


def ip(text: str) -> int:
    return parse_ipv4(text)


def block(text: str) -> int:
    return parse_block_cidr(text)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # exactly one /24
        ("192.0.2.0", "192.0.2.255", [("192.0.2.0/24", 0, 255)]),
        # smaller than a /24, inside it
        ("192.0.2.64", "192.0.2.127", [("192.0.2.0/24", 64, 127)]),
        # a single address
        ("192.0.2.7", "192.0.2.7", [("192.0.2.0/24", 7, 7)]),
        # from the middle of one /24 to the middle of the one after next
        (
            "198.51.98.128",
            "198.51.100.63",
            [("198.51.98.0/24", 128, 255), ("198.51.99.0/24", 0, 255), ("198.51.100.0/24", 0, 63)],
        ),
        # two whole /24s, edges on the boundaries
        ("203.0.112.0", "203.0.113.255", [("203.0.112.0/24", 0, 255), ("203.0.113.0/24", 0, 255)]),
        # the very last block of the address space
        ("255.255.255.0", "255.255.255.255", [("255.255.255.0/24", 0, 255)]),
        ("0.0.0.0", "0.0.0.0", [("0.0.0.0/24", 0, 0)]),
    ],
)
def test_split_into_blocks_at_range_edges(
    first: str, last: str, expected: list[tuple[str, int, int]]
) -> None:
    spans = split_into_blocks([Ipv4Range(ip(first), ip(last), 64500, "KZ")])
    assert [(span.cidr, span.first_host, span.last_host) for span in spans] == expected
    assert all(span.asn == 64500 and span.country == "KZ" for span in spans)
    assert sum(span.size for span in spans) == ip(last) - ip(first) + 1


def test_two_ranges_share_a_block() -> None:
    spans = split_into_blocks(
        [
            Ipv4Range(ip("192.0.2.0"), ip("192.0.2.127"), 64500, "KZ"),
            Ipv4Range(ip("192.0.2.128"), ip("192.0.3.9"), 64501, "RU"),
        ]
    )
    assert spans == [
        BlockSpan(block("192.0.2.0/24"), 0, 127, 64500, "KZ"),
        BlockSpan(block("192.0.2.0/24"), 128, 255, 64501, "RU"),
        BlockSpan(block("192.0.3.0/24"), 0, 9, 64501, "RU"),
    ]
    assert (
        count_blocks(
            [
                Ipv4Range(ip("192.0.2.0"), ip("192.0.2.127"), 1, ""),
                Ipv4Range(ip("192.0.2.128"), ip("192.0.3.9"), 2, ""),
            ]
        )
        == 2
    )


@pytest.mark.parametrize(
    "bad", [Ipv4Range(5, 4, 1, ""), Ipv4Range(-1, 4, 1, ""), Ipv4Range(0, 1 << 32, 1, "")]
)
def test_split_refuses_non_ranges(bad: Ipv4Range) -> None:
    with pytest.raises(ValueError, match="not an IPv4 range"):
        split_into_blocks([bad])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("0.0.0.0/24", 0),
        ("198.51.100.0/24", (198 << 16) | (51 << 8) | 100),
        ("255.255.255.0/24", (1 << 24) - 1),
    ],
)
def test_block_cidr_round_trip(text: str, key: int) -> None:
    assert parse_block_cidr(text) == key
    assert block_cidr(key) == text


@pytest.mark.parametrize(
    "bad", ["198.51.100.0/23", "198.51.100.1/24", "198.51.100.0", "2001:db8::/24", "x/24"]
)
def test_parse_block_cidr_errors_name_the_text(bad: str) -> None:
    with pytest.raises(ValueError, match="not an IPv4 /24 block"):
        parse_block_cidr(bad)


def test_ipv6_blocks_are_48s() -> None:
    from vantage.collector.asn.ipnum import parse_ipv6

    assert ipv6_block_cidr(parse_ipv6("2001:db8:12:3456::1")) == "2001:db8:12::/48"


def test_database_ranges_for_ases_and_countries(tmp_path: Path) -> None:
    db = AsnDatabase.load(
        [
            write(tmp_path, "asn.csv", IP_LOCATION_DB_ASN),
            write(tmp_path, "country.csv", IP_LOCATION_DB_COUNTRY),
        ]
    )
    by_as = db.ipv4_ranges(asns=[64501])
    assert by_as == [Ipv4Range(ip("192.0.2.128"), ip("192.0.2.255"), 64501, "KZ")]
    # Country codes compare case-insensitively (the parser keeps them upper case); KZ spans two ASes.
    by_country = db.ipv4_ranges(countries=["KZ"])
    assert [(r.first, r.last, r.asn) for r in by_country] == [
        (ip("192.0.2.0"), ip("192.0.2.127"), 64500),
        (ip("192.0.2.128"), ip("192.0.2.255"), 64501),
    ]
    # FR covers half of AS 64502's /24: the two halves are two ranges with different countries.
    both = db.ipv4_ranges(asns=[64502], countries=["fr"])
    assert [(r.first, r.last, r.country) for r in both] == [
        (ip("198.51.100.0"), ip("198.51.100.127"), "FR"),
        (ip("198.51.100.128"), ip("198.51.100.255"), ""),
    ]
    assert db.ipv4_ranges() == []
    assert db.known_asns() == {64500, 64501, 64502, 64503}
    assert db.known_countries() == {"KZ", "FR", "DE"}


def test_scope_errors_name_the_unknown_item() -> None:
    check_scope([64500], ["kz"], known_asns={64500}, known_countries={"KZ"})
    with pytest.raises(ScopeError, match=r"^AS 64501 is not in the loaded datasets$"):
        check_scope([64500, 64501], [], known_asns={64500}, known_countries={"KZ"})
    with pytest.raises(ScopeError, match="country 'XX' is not in the loaded datasets"):
        check_scope([], ["XX"], known_asns={64500}, known_countries={"KZ"})


def test_real_datasets_enumerate_whole_countries(shared_data: Path) -> None:
    folder = shared_data / "ip-location-db"
    db = AsnDatabase.load([folder / "asn-ipv4.csv.gz", folder / "geo-whois-asn-country-ipv4.csv.gz"])
    assert "KZ" in db.known_countries() and len(db.known_asns()) > 50_000
    ranges = db.ipv4_ranges(countries=["KZ"])
    assert ranges and all(r.country.upper() == "KZ" for r in ranges)
    assert all(a.last < b.first for a, b in itertools.pairwise(ranges))
    spans = split_into_blocks(ranges)
    assert sum(s.size for s in spans) == sum(r.size for r in ranges)
    for span in spans[:: max(1, len(spans) // 200)]:  # a sample: each lookup agrees with the span
        info = db.lookup_int(4, span.address(span.first_host))
        assert info is not None and info.country.upper() == "KZ" and info.asn == span.asn
