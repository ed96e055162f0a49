"""IP -> AS number, AS name and country, from offline datasets.

Usage::

    db = AsnDatabase.load([Path("asn-ipv4.csv.gz"), Path("geo-whois-asn-country-ipv4.csv.gz")])
    db.lookup("198.51.100.7")  # -> AsnInfo(asn=64500, name="...", country="..") or None

Several files may be given, of any of the formats in asn_formats (detected
from content; plain or gzip, detected from the magic bytes). Each file adds
AS tables, country tables or both (iptoasn). A lookup takes the AS number
from the first file, in the order given, whose ranges hold the address, and
the country likewise from the first country-bearing file: so "an ASN dataset
then a country dataset" merges the two. The AS name comes from any file that
named that AS (pfx2as names none). An address found only in a country table
gives AsnInfo(asn=0, name="", country=CC); one found nowhere gives None.

IPv4-mapped IPv6 addresses (::ffff:192.0.2.1, what a dual-stack socket
reports for an IPv4 peer) are looked up as IPv4.

The database is immutable: "reload" means loading a new one and swapping the
reference, which is atomic for readers in other threads.
"""

from __future__ import annotations

import gzip
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from vantage.collector.asn.formats import DatasetError, DatasetFormat, ParsedDataset, parse_dataset
from vantage.collector.asn.ipnum import OCTET_VALUES, parse_ip, parse_ipv4
from vantage.collector.asn.merge import first_hits, merged_ipv4
from vantage.collector.asn.rangetable import RangeTable

__all__ = ["AsnDatabase", "AsnInfo", "DatasetError", "Ipv4Range", "LoadedFile"]

_GZIP_MAGIC = b"\x1f\x8b"
_MAPPED_V4_PREFIX = 0xFFFF  # ::ffff:0:0/96, shifted right by 32
_BITS = {4: 32, 6: 128}  # IPv4 tables use compact 32-bit arrays (asn/rangetable.py)


@dataclass(frozen=True, slots=True)
class AsnInfo:
    asn: int  # 0 when only the country is known
    name: str  # "" when no dataset names the AS
    country: str  # ISO 3166-1 alpha-2 as the dataset gives it, "" when unknown


@dataclass(frozen=True, slots=True)
class Ipv4Range:
    """An inclusive range of IPv4 addresses (as integers) with the AS and country the datasets give it."""

    first: int
    last: int
    asn: int  # 0 when only the country is known
    country: str  # "" when unknown

    @property
    def size(self) -> int:
        """Number of addresses in the range."""
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """What one dataset file contributed (for logs and `asn reload` replies)."""

    path: str
    format: DatasetFormat
    range_count: int


@dataclass(frozen=True, slots=True)
class _Tables:
    """Per IP version: AS tables and country tables, in file order."""

    asn_tables: tuple[RangeTable[int], ...] = ()
    country_tables: tuple[RangeTable[str], ...] = ()


def _no_ipv4() -> RangeTable[AsnInfo | None]:
    return RangeTable(array("I"), array("I"), [])


@dataclass(frozen=True, slots=True)
class AsnDatabase:
    # IPv4: AS and country tables merged into one (asn/merge.py); IPv6: per-file tables.
    ipv4: RangeTable[AsnInfo | None] = field(default_factory=_no_ipv4)
    ipv6: _Tables = field(default_factory=_Tables)
    names: dict[int, str] = field(default_factory=dict)
    files: tuple[LoadedFile, ...] = ()
    # AsnInfo values are shared: a lookup then allocates nothing.
    _infos: dict[tuple[int, str], AsnInfo] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> AsnDatabase:
        return cls()

    @classmethod
    def load(cls, paths: Sequence[Path | str]) -> AsnDatabase:
        """Load and merge dataset files; DatasetError (naming file and line) when one cannot be read."""
        parsed_files = [_read_file(Path(path)) for path in paths]
        names: dict[int, str] = {}
        for parsed in parsed_files:
            for asn, name in parsed.names.items():
                names.setdefault(asn, name)  # the first file that names an AS wins
        tables = {
            version: _Tables(
                asn_tables=tuple(
                    RangeTable.build(p.asn_ranges[version], bits=_BITS[version])
                    for p in parsed_files
                    if p.asn_ranges[version]
                ),
                country_tables=tuple(
                    RangeTable.build(p.country_ranges[version], bits=_BITS[version])
                    for p in parsed_files
                    if p.country_ranges[version]
                ),
            )
            for version in (4, 6)
        }
        files = [
            LoadedFile(str(path), p.format, p.row_count) for path, p in zip(paths, parsed_files, strict=True)
        ]
        infos: dict[tuple[int, str], AsnInfo] = {}

        def answer(asn: int, country: str) -> AsnInfo | None:
            if asn == 0 and not country:
                return None
            return infos.setdefault((asn, country), AsnInfo(asn, names.get(asn, ""), country))

        ipv4 = merged_ipv4(tables[4].asn_tables, tables[4].country_tables, answer)
        return cls(ipv4=ipv4, ipv6=tables[6], names=names, files=tuple(files), _infos=infos)

    @property
    def range_count(self) -> int:
        """Number of address ranges loaded, over all files."""
        return sum(f.range_count for f in self.files)

    def as_name(self, asn: int) -> str:
        """The AS's name from the datasets, or "" when none names it."""
        return self.names.get(asn, "")

    def lookup(self, address: str) -> AsnInfo | None:
        """AS and country of an address; None when no dataset covers it. ValueError for non-addresses."""
        if ":" in address:
            version, value = parse_ip(address)
            if value >> 32 == _MAPPED_V4_PREFIX:
                return self.lookup_int(4, value & 0xFFFFFFFF)
            return self.lookup_int(version, value)
        # The hot path (IPv4 text), with lookup_int inlined: a call costs as much as the bisect.
        try:
            a, b, c, d = address.split(".")
            value = (
                (OCTET_VALUES[a] << 24) | (OCTET_VALUES[b] << 16) | (OCTET_VALUES[c] << 8) | OCTET_VALUES[d]
            )
        except (KeyError, ValueError):
            value = parse_ipv4(address)  # raises the ValueError that names the problem
        table = self.ipv4
        index = bisect_right(table.starts, value) - 1
        if index >= 0 and value <= table.ends[index]:
            return table.values[index]
        return None

    def lookup_int(self, version: int, value: int) -> AsnInfo | None:
        """Like lookup, for an address already in integer form."""
        if version == 4:
            index = bisect_right(self.ipv4.starts, value) - 1
            if index >= 0 and value <= self.ipv4.ends[index]:
                return self.ipv4.values[index]
            return None
        tables = self.ipv6
        asn = 0
        for table in tables.asn_tables:
            index = bisect_right(table.starts, value) - 1
            if index >= 0 and value <= table.ends[index]:
                asn = table.values[index]
                break
        country = ""
        for country_table in tables.country_tables:
            index = bisect_right(country_table.starts, value) - 1
            if index >= 0 and value <= country_table.ends[index]:
                country = country_table.values[index]
                break
        return self._info(asn, country)

    def lookup_many(self, addresses: Sequence[str]) -> list[AsnInfo | None]:
        """lookup for many addresses at once: IPv4 bisects run vectorised (numpy), several times faster.

        ValueError (naming the first bad one) when an address is not an address.
        """
        if numpy is None:  # pragma: no cover - numpy is a dependency
            return [self.lookup(address) for address in addresses]
        results: list[AsnInfo | None] = [None] * len(addresses)
        v4_positions: list[int] = []
        v4_values: list[int] = []
        octet = OCTET_VALUES
        for position, address in enumerate(addresses):
            try:
                a, b, c, d = address.split(".")
                v4_values.append((octet[a] << 24) | (octet[b] << 16) | (octet[c] << 8) | octet[d])
                v4_positions.append(position)
            except (KeyError, ValueError):
                results[position] = self.lookup(address)  # IPv6, or the error for a bad address
        if v4_values:
            found = first_hits([self.ipv4], numpy.array(v4_values, dtype=numpy.uint32), None).tolist()
            for position, info in zip(v4_positions, found, strict=True):
                results[position] = info
        return results

    # Enumeration (target discovery). These walk the merged IPv4 table once per call (O(ranges));
    # they add no field the lookup path reads, so lookups stay exactly as fast.

    def ipv4_ranges(self, *, asns: Iterable[int] = (), countries: Iterable[str] = ()) -> list[Ipv4Range]:
        """The IPv4 ranges whose AS is in `asns` or whose country is in `countries`, in address order.

        Adjacent segments of the same (AS, country) are joined into one range. Country codes
        compare case-insensitively (datasets print them upper case). Both empty -> [].
        """
        wanted_asns = {asn for asn in asns if asn}
        wanted_countries = {country.upper() for country in countries if country}
        if not wanted_asns and not wanted_countries:
            return []
        # Decide once per distinct answer (tens of thousands of shared AsnInfo objects), by identity.
        decided: dict[int, bool] = {}
        table = self.ipv4
        starts, ends = table.starts, table.ends
        ranges: list[Ipv4Range] = []
        last_info: AsnInfo | None = None
        for index, info in enumerate(table.values):
            if info is None:
                continue
            wanted = decided.get(id(info))
            if wanted is None:
                wanted = decided[id(info)] = (
                    info.asn in wanted_asns or info.country.upper() in wanted_countries
                )
            if not wanted:
                continue
            start = starts[index]
            if ranges and last_info is info and ranges[-1].last + 1 == start:
                ranges[-1] = Ipv4Range(ranges[-1].first, ends[index], info.asn, info.country)
            else:
                ranges.append(Ipv4Range(start, ends[index], info.asn, info.country))
            last_info = info
        return ranges

    def known_asns(self) -> frozenset[int]:
        """Every AS number some loaded dataset maps an address range to (IPv4 or IPv6)."""
        known = {info.asn for info in self._distinct_ipv4_infos()}
        for table in self.ipv6.asn_tables:
            known.update(table.values)
        known.discard(0)
        return frozenset(known)

    def known_countries(self) -> frozenset[str]:
        """Every country code (upper case) some loaded dataset maps an address range to."""
        known = {info.country.upper() for info in self._distinct_ipv4_infos()}
        for table in self.ipv6.country_tables:
            known.update(code.upper() for code in table.values)
        known.discard("")
        return frozenset(known)

    def _distinct_ipv4_infos(self) -> list[AsnInfo]:
        values = self.ipv4.values  # shared objects: distinct by identity, without hashing each
        return [info for info in dict(zip(map(id, values), values, strict=True)).values() if info is not None]

    def _info(self, asn: int, country: str) -> AsnInfo | None:
        if asn == 0 and not country:
            return None
        key = (asn, country)
        info = self._infos.get(key)
        if info is None:
            info = self._infos[key] = AsnInfo(asn, self.names.get(asn, ""), country)
        return info


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot read: {error.strerror or error}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DatasetError(f"{path}: damaged gzip file: {error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: not UTF-8 text ({error.reason})") from None


def _read_file(path: Path) -> ParsedDataset:
    return parse_dataset(_read_text(path), source_name=str(path))
