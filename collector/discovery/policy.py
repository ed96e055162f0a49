"""Which addresses may ever be probed: exclusions, special-purpose space, and explicit openings.

An `AddressPolicy` refuses an address when
1. an exclusion list holds it (ZMap's blocklist form: one CIDR or address per line, `#` starts a
   comment; `parse_exclusions`), whatever else is configured: an exclusion always wins; or
2. it is in an IANA special-purpose registry (IPv4: RFC 6890 and its updates, plus multicast
   224.0.0.0/4, which ZMap's default blocklist also refuses; IPv6: the IPv6 special-purpose
   registry plus multicast ff00::/8) and no `--allow-range` opens it. The lab opens its own
   space (198.18.0.0/15, the benchmarking range, is special-purpose) this way.

The collector applies it to every task (discovery, reachability, inside-out) before it reaches a
probe. Checks bisect over merged sorted intervals, so a policy of a hundred thousand exclusions
costs the same per address as one of ten.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vantage.collector.asn.ipnum import parse_ip, prefix_range

# IANA IPv4 Special-Purpose Address Registry (RFC 6890, RFC 8190 and later updates), whole
# blocks: a few have globally reachable sub-ranges (192.0.0.9/32, 192.0.0.10/32), refused too.
IPV4_SPECIAL_PURPOSE = (
    ("0.0.0.0/8", "this network (RFC 791)"),
    ("10.0.0.0/8", "private use (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link local (RFC 3927)"),
    ("172.16.0.0/12", "private use (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)"),
    ("192.52.193.0/24", "AMT (RFC 7450)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private use (RFC 1918)"),
    ("192.175.48.0/24", "direct delegation AS112 service (RFC 7534)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved (RFC 1112)"),
    ("255.255.255.255/32", "limited broadcast (RFC 919)"),
)
# IANA IPv6 Special-Purpose Address Registry, plus multicast.
IPV6_SPECIAL_PURPOSE = (
    ("::/128", "unspecified address (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("::ffff:0:0/96", "IPv4-mapped (RFC 4291)"),
    ("64:ff9b::/96", "IPv4-IPv6 translation (RFC 6052)"),
    ("64:ff9b:1::/48", "local-use IPv4-IPv6 translation (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001::/23", "IETF protocol assignments (RFC 2928)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("2002::/16", "6to4 (RFC 3056)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "segment routing SIDs (RFC 9602)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local unicast (RFC 4291)"),
    ("ff00::/8", "multicast (RFC 4291)"),
)


@dataclass(frozen=True, slots=True)
class Network:
    """An IP network, as CIDR text and its inclusive integer bounds."""

    version: int  # 4 or 6
    first: int
    last: int
    text: str


class ExclusionError(ValueError):
    """A line of an exclusion list (or an --allow-range) that is not a CIDR; names file and line."""


def parse_network(text: str) -> Network:
    """ "192.0.2.0/24", "2001:db8::/32" or a bare address -> Network; ValueError otherwise."""
    address, slash, length_text = text.partition("/")
    version, value = parse_ip(address)
    bits = 32 if version == 4 else 128
    if slash:
        if not length_text.isdigit() or not length_text.isascii():
            raise ValueError(f"bad prefix length in {text!r}")
        length = int(length_text)
    else:
        length = bits
    try:
        first, last = prefix_range(version, value, length)
    except ValueError as error:
        raise ValueError(f"{text!r}: {error}") from None
    return Network(version, first, last, text)


def parse_exclusions(text: str, source_name: str) -> tuple[Network, ...]:
    """An exclusion list in ZMap's blocklist form -> its networks, in file order.

    ExclusionError("FILE:LINE: ...") at the first bad line; nothing is returned then, so a
    caller never applies half a file.
    """
    networks: list[Network] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            networks.append(parse_network(entry))
        except ValueError as error:
            raise ExclusionError(f"{source_name}:{line_number}: not a CIDR network: {error}") from None
    return tuple(networks)


def parse_allow_ranges(texts: Iterable[str]) -> tuple[Network, ...]:
    """--allow-range values -> networks; ExclusionError naming the bad value."""
    networks = []
    for text in texts:
        try:
            networks.append(parse_network(text.strip()))
        except ValueError as error:
            raise ExclusionError(f"--allow-range {text!r}: not a CIDR network: {error}") from None
    return tuple(networks)


def _specials(table: Sequence[tuple[str, str]]) -> tuple[tuple[Network, str], ...]:
    return tuple((parse_network(cidr), why) for cidr, why in table)


_SPECIAL = {4: _specials(IPV4_SPECIAL_PURPOSE), 6: _specials(IPV6_SPECIAL_PURPOSE)}


class AddressPolicy:
    """Immutable: built once from exclusions and allow ranges; `permits` is the per-task check."""

    __slots__ = ("_refused", "allowed", "excluded")

    def __init__(self, excluded: Iterable[Network] = (), allowed: Iterable[Network] = ()) -> None:
        self.excluded = tuple(excluded)
        self.allowed = tuple(allowed)
        self._refused: dict[int, tuple[list[int], list[int]]] = {}
        for version in (4, 6):
            special = _merge([(n.first, n.last) for n, _ in _SPECIAL[version]])
            opened = _merge([(n.first, n.last) for n in self.allowed if n.version == version])
            refused = _subtract(special, opened)
            refused += [(n.first, n.last) for n in self.excluded if n.version == version]
            merged = _merge(refused)
            self._refused[version] = ([first for first, _ in merged], [last for _, last in merged])

    def permits(self, address: str) -> bool:
        """May this address be probed? ValueError when it is not an address."""
        version, value = parse_ip(address)
        return self.permits_int(version, value)

    def permits_int(self, version: int, value: int) -> bool:
        firsts, lasts = self._refused[version]
        index = bisect_right(firsts, value) - 1
        return index < 0 or value > lasts[index]

    def permits_all(self, version: int, first: int, last: int) -> bool:
        """Is every address of first..last permitted (one bisect: a census block's fast path)?"""
        firsts, lasts = self._refused[version]
        index = bisect_right(firsts, last) - 1
        return index < 0 or lasts[index] < first

    def permits_none(self, version: int, first: int, last: int) -> bool:
        """Is every address of first..last refused?"""
        firsts, lasts = self._refused[version]
        index = bisect_right(firsts, first) - 1
        return index >= 0 and lasts[index] >= last

    def reason(self, address: str) -> str:
        """Why the address is refused ("" when it is permitted)."""
        version, value = parse_ip(address)
        for network in self.excluded:
            if network.version == version and network.first <= value <= network.last:
                return f"excluded by {network.text}"
        if self.permits_int(version, value):
            return ""
        holding = [(n.last - n.first, n, why) for n, why in _SPECIAL[version] if n.first <= value <= n.last]
        if not holding:  # pragma: no cover - refused means excluded or special-purpose
            return "refused"
        _, network, why = min(holding, key=lambda item: item[0])  # the most specific entry
        return f"special-purpose {network.text}: {why} (open it with --allow-range)"


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _subtract(intervals: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint intervals minus sorted disjoint holes."""
    result: list[tuple[int, int]] = []
    for first, last in intervals:
        cursor = first
        for hole_first, hole_last in holes:
            if hole_last < cursor or hole_first > last:
                continue
            if hole_first > cursor:
                result.append((cursor, hole_first - 1))
            cursor = max(cursor, hole_last + 1)
        if cursor <= last:
            result.append((cursor, last))
    return result
