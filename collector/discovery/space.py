"""Address space -> /24 blocks: the unit of census, history and selection.

A block is keyed in pure code by `block = network_int >> 8` (an int), shown as CIDR text
(`198.51.100.0/24`) in storage, wire and CLI. A dataset range rarely starts or ends on a /24
boundary, and one /24 may hold ranges of two ASes: `split_into_blocks` cuts each range at /24
boundaries into `BlockSpan`s, each naming the host offsets (0..255) of its block that the range
covers. A block may therefore have several spans (one per range touching it).

IPv6 hitlist addresses are grouped into /48s (`ipv6_block_cidr`); there is no IPv6 census.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from vantage.collector.asn.database import Ipv4Range
from vantage.collector.asn.ipnum import IPV4_MAX, parse_ipv4

BLOCK_SIZE = 256


@dataclass(frozen=True, slots=True)
class BlockSpan:
    """The part of one /24 that one dataset range covers: hosts first_host..last_host (inclusive)."""

    block: int  # network_int >> 8
    first_host: int  # 0..255
    last_host: int  # first_host..255
    asn: int  # 0 = unknown
    country: str  # "" = unknown

    @property
    def size(self) -> int:
        return self.last_host - self.first_host + 1

    @property
    def cidr(self) -> str:
        return block_cidr(self.block)

    def address(self, host: int) -> int:
        """The address (integer) of a host offset of this block."""
        return (self.block << 8) | host


class ScopeError(ValueError):
    """A campaign names a country or AS that the loaded datasets do not know."""


def block_of(address: int) -> int:
    """The block key of an IPv4 address given as an integer."""
    return address >> 8


def dotted(address: int) -> str:
    """IPv4 integer -> dotted quad (five times faster than ipaddress)."""
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


def block_cidr(block: int) -> str:
    """Block key -> "a.b.c.0/24"."""
    if not 0 <= block <= IPV4_MAX >> 8:
        raise ValueError(f"not an IPv4 /24 block key: {block}")
    return f"{block >> 16}.{(block >> 8) & 255}.{block & 255}.0/24"


def parse_block_cidr(text: str) -> int:
    """ "a.b.c.0/24" -> block key; ValueError naming the text for anything else."""
    network, slash, length = text.partition("/")
    if slash != "/" or length != "24":
        raise ValueError(f"not an IPv4 /24 block: {text!r}")
    try:
        value = parse_ipv4(network)
    except ValueError:
        raise ValueError(f"not an IPv4 /24 block: {text!r}") from None
    if value & 255:
        raise ValueError(f"not an IPv4 /24 block (host bits set): {text!r}")
    return value >> 8


def ipv6_block_cidr(address: int) -> str:
    """The /48 holding an IPv6 address (integer), as CIDR text: the key of IPv6 hitlist blocks."""
    network = address >> 80
    groups = [(network >> 32) & 0xFFFF, (network >> 16) & 0xFFFF, network & 0xFFFF]
    return f"{groups[0]:x}:{groups[1]:x}:{groups[2]:x}::/48"


def split_into_blocks(ranges: Iterable[Ipv4Range]) -> list[BlockSpan]:
    """Every /24 piece of the ranges, in the ranges' order (address order when they are sorted).

    A range inside one /24 gives one span; a range from x.y.z.128 to x.y.(z+2).63 gives three
    (128..255, 0..255, 0..63).
    """
    spans: list[BlockSpan] = []
    append = spans.append
    for item in ranges:
        if item.first > item.last or item.first < 0 or item.last > IPV4_MAX:
            raise ValueError(f"not an IPv4 range: {item.first}..{item.last}")
        first_block, last_block = item.first >> 8, item.last >> 8
        asn, country = item.asn, item.country
        if first_block == last_block:
            append(BlockSpan(first_block, item.first & 255, item.last & 255, asn, country))
            continue
        append(BlockSpan(first_block, item.first & 255, 255, asn, country))
        for block in range(first_block + 1, last_block):
            append(BlockSpan(block, 0, 255, asn, country))
        append(BlockSpan(last_block, 0, item.last & 255, asn, country))
    return spans


def count_blocks(ranges: Iterable[Ipv4Range]) -> int:
    """How many distinct /24s the ranges touch (ranges sorted by address, as the database gives)."""
    count = 0
    last_counted = -1
    for item in ranges:
        first_block, last_block = item.first >> 8, item.last >> 8
        if first_block <= last_counted:
            first_block = last_counted + 1
        if last_block >= first_block:
            count += last_block - first_block + 1
            last_counted = last_block
    return count


def check_scope(
    asns: Iterable[int],
    countries: Iterable[str],
    *,
    known_asns: Collection[int],
    known_countries: Collection[str],
) -> None:
    """ScopeError naming the first AS / country absent from the loaded datasets, else None.

    known_* come from AsnDatabase.known_asns() / known_countries() (country codes upper case).
    """
    for asn in asns:
        if asn not in known_asns:
            raise ScopeError(f"AS {asn} is not in the loaded datasets")
    for country in countries:
        if country.upper() not in known_countries:
            raise ScopeError(f"country {country!r} is not in the loaded datasets")
