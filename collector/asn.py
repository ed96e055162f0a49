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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vantage.collector.asn_formats import DatasetError, DatasetFormat, parse_dataset
from vantage.collector.ipnum import parse_ip, parse_ipv4
from vantage.collector.rangetable import RangeTable

__all__ = ["AsnDatabase", "AsnInfo", "DatasetError", "LoadedFile"]

_GZIP_MAGIC = b"\x1f\x8b"
_MAPPED_V4_PREFIX = 0xFFFF  # ::ffff:0:0/96, shifted right by 32


@dataclass(frozen=True, slots=True)
class AsnInfo:
    asn: int  # 0 when only the country is known
    name: str  # "" when no dataset names the AS
    country: str  # ISO 3166-1 alpha-2 as the dataset gives it, "" when unknown


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


@dataclass(frozen=True, slots=True)
class AsnDatabase:
    ipv4: _Tables = field(default_factory=_Tables)
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
        ranges: dict[int, list[tuple[list[tuple[int, int, int]], list[tuple[int, int, str]]]]] = {
            4: [],
            6: [],
        }
        names: dict[int, str] = {}
        files: list[LoadedFile] = []
        for path in paths:
            fmt, count, per_version = _read_file(Path(path), names)
            files.append(LoadedFile(str(path), fmt, count))
            for version in (4, 6):
                ranges[version].append(per_version[version])
        tables = {
            version: _Tables(
                asn_tables=tuple(RangeTable.build(a) for a, _ in per_file if a),
                country_tables=tuple(RangeTable.build(c) for _, c in per_file if c),
            )
            for version, per_file in ranges.items()
        }
        return cls(ipv4=tables[4], ipv6=tables[6], names=names, files=tuple(files))

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
        return self.lookup_int(4, parse_ipv4(address))

    def lookup_int(self, version: int, value: int) -> AsnInfo | None:
        """Like lookup, for an address already in integer form."""
        tables = self.ipv4 if version == 4 else self.ipv6
        asn = 0
        for asn_table in tables.asn_tables:
            found = asn_table.find(value)
            if found is not None:
                asn = found
                break
        country = ""
        for country_table in tables.country_tables:
            found_country = country_table.find(value)
            if found_country is not None:
                country = found_country
                break
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


_PerVersion = dict[int, tuple[list[tuple[int, int, int]], list[tuple[int, int, str]]]]


def _read_file(path: Path, names: dict[int, str]) -> tuple[DatasetFormat, int, _PerVersion]:
    fmt, rows = parse_dataset(_read_text(path), source_name=str(path))
    per_version: _PerVersion = {4: ([], []), 6: ([], [])}
    intern: dict[str, str] = {}
    for version, first, last, asn, name, country in rows:
        asn_ranges, country_ranges = per_version[version]
        if asn:
            asn_ranges.append((first, last, asn))
            if name and asn not in names:
                names[asn] = name
        if country:
            country_ranges.append((first, last, intern.setdefault(country, country)))
    return fmt, len(rows), per_version
