"""Readers for the offline IP -> AS / country datasets, with format detection.

Accepted formats (see docs/asn-datasets.md for where to get them):

- ip-location-db ASN CSV:      ``first,last,asn,organisation``  (organisation may be quoted)
- ip-location-db country CSV:  ``first,last,country_code``
- CAIDA RouteViews pfx2as:     ``prefix<TAB>length<TAB>asn``; asn may be a multi-origin
  ``a_b`` or an AS set ``a,b``: the first AS is taken
- iptoasn TSV:                 ``first<TAB>last<TAB>asn<TAB>country<TAB>description``;
  rows with AS 0 ("Not routed") are skipped

The format is detected from the first data line (blank lines and lines
starting with '#' are skipped everywhere), so a file's name does not matter.
Any line that does not fit the detected format fails the whole file with a
DatasetError naming the file and line: a half-loaded dataset would place
probes silently wrong.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

try:  # the bulk path for big IPv4 files; without numpy the per-row fast path reads them
    import numpy
except ImportError:  # pragma: no cover - numpy is a dependency
    numpy = None  # type: ignore[assignment]

from vantage.collector.asn.ipnum import (
    OCTET_VALUES,
    parse_ip,
    parse_ipv4_fast,
    parse_ipv6,
    parse_ipv6_fast,
    prefix_range,
)

MAX_ASN = 4_294_967_295  # 32-bit AS numbers (RFC 6793)


class DatasetError(ValueError):
    """A dataset file that cannot be read; the message names the file and line."""


class DatasetFormat(enum.Enum):
    IP_LOCATION_DB_ASN = "ip-location-db ASN CSV (first,last,asn,organisation)"
    IP_LOCATION_DB_COUNTRY = "ip-location-db country CSV (first,last,country)"
    ROUTEVIEWS_PFX2AS = "RouteViews pfx2as (prefix<TAB>length<TAB>asn)"
    IPTOASN_TSV = "iptoasn TSV (first<TAB>last<TAB>asn<TAB>country<TAB>description)"


# One inclusive address range: (ip_version 4|6, first, last, asn, as_name, country).
# asn 0 and "" mean "not given by this format". Plain tuples: a dataset has a million of them.
RangeRow = tuple[int, int, int, int, str, str]


def _data_lines(lines: Iterator[str]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if line.strip() and not line.startswith("#"):
            yield number, line


def detect_format(line: str) -> DatasetFormat | None:
    """The format a data line belongs to, or None when it fits none."""
    if "\t" in line:
        fields = line.split("\t")
        if len(fields) == 3 and fields[1].strip().isdigit():
            return DatasetFormat.ROUTEVIEWS_PFX2AS
        if len(fields) >= 4 and fields[2].strip().isdigit():
            return DatasetFormat.IPTOASN_TSV
        return None
    fields = next(csv.reader([line]))
    if len(fields) == 4 and fields[2].strip().isdigit():
        return DatasetFormat.IP_LOCATION_DB_ASN
    if len(fields) == 3 and len(fields[2].strip()) == 2 and fields[2].strip().isalpha():
        return DatasetFormat.IP_LOCATION_DB_COUNTRY
    return None


def parse_asn(text: str) -> int:
    """AS number text -> int; accepts "AS123", multi-origin "a_b" and AS sets "a,b" (first AS)."""
    token = text.strip()
    for separator in ("_", ","):
        token = token.split(separator, 1)[0]
    token = token.strip().removeprefix("{").removeprefix("AS").removeprefix("as")
    if not token.isdigit() or not token.isascii():
        raise ValueError(f"not an AS number: {text!r}")
    asn = int(token)
    if asn > MAX_ASN:
        raise ValueError(f"AS number {asn} above {MAX_ASN}")
    return asn


def _range(first_text: str, last_text: str) -> tuple[int, int, int]:
    version, first = parse_ip(first_text)
    last_version, last = parse_ip(last_text)
    if version != last_version:
        raise ValueError(f"range mixes IPv4 and IPv6: {first_text} - {last_text}")
    if last < first:
        raise ValueError(f"range ends before it starts: {first_text} - {last_text}")
    return version, first, last


def _parse_row(fmt: DatasetFormat, line: str) -> RangeRow | None:
    if fmt is DatasetFormat.IP_LOCATION_DB_ASN:
        fields = next(csv.reader([line])) if '"' in line else line.split(",")
        if len(fields) != 4:
            raise ValueError(f"expected 4 comma-separated fields, got {len(fields)}")
        version, first, last = _range(fields[0], fields[1])
        return (version, first, last, parse_asn(fields[2]), fields[3].strip(), "")
    if fmt is DatasetFormat.IP_LOCATION_DB_COUNTRY:
        fields = line.split(",")
        if len(fields) != 3:
            raise ValueError(f"expected 3 comma-separated fields, got {len(fields)}")
        version, first, last = _range(fields[0], fields[1])
        return (version, first, last, 0, "", _country(fields[2]))
    if fmt is DatasetFormat.ROUTEVIEWS_PFX2AS:
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"expected 3 tab-separated fields, got {len(fields)}")
        version, network = parse_ip(fields[0].strip())
        if not fields[1].strip().isdigit():
            raise ValueError(f"prefix length is not a number: {fields[1]!r}")
        first, last = prefix_range(version, network, int(fields[1]))
        return (version, first, last, parse_asn(fields[2]), "", "")
    fields = line.split("\t")
    if len(fields) < 4:
        raise ValueError(f"expected 5 tab-separated fields, got {len(fields)}")
    version, first, last = _range(fields[0].strip(), fields[1].strip())
    asn = parse_asn(fields[2])
    if asn == 0:  # iptoasn marks unrouted space as AS 0 "Not routed"
        return None
    country = fields[3].strip().upper()
    country = "" if country in ("NONE", "") else _country(country)
    name = fields[4].strip() if len(fields) > 4 else ""
    return (version, first, last, asn, name, country)


def _country(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError(f"not a two-letter country code: {text!r}")
    return code


def read_rows(lines: Iterator[str], *, source_name: str) -> tuple[DatasetFormat, Iterator[RangeRow]]:
    """Detect the format from the first data line and iterate over the rows.

    Raises DatasetError (naming source_name and the line) for an empty file, an
    unknown format, or a bad line later on (raised while iterating).
    """
    data = _data_lines(lines)
    try:
        number, first_line = next(data)
    except StopIteration:
        raise DatasetError(f"{source_name}: no data lines (is it empty?)") from None
    fmt = detect_format(first_line)
    if fmt is None:
        raise DatasetError(
            f"{source_name}:{number}: unrecognised dataset format; expected one of: "
            + "; ".join(f.value for f in DatasetFormat)
            + f" — line starts {first_line[:60]!r}"
        )

    def rows() -> Iterator[RangeRow]:
        for line_number, line in _chain_first(number, first_line, data):
            try:
                row = _parse_row(fmt, line)
            except (ValueError, StopIteration) as error:
                raise DatasetError(f"{source_name}:{line_number}: {error} ({fmt.value})") from None
            if row is not None:
                yield row

    return fmt, rows()


def _chain_first(number: int, line: str, rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield number, line
    yield from rest


# --- The fast path -----------------------------------------------------------------------------
# A line-by-line parse costs ~15 µs a row on this project's 2-core reference machine (≈ 6 s for
# the 411,961-row ip-location-db IPv4 file). One regex pass over the whole text (in C) and
# dictionary-based octet decoding bring that to ~3 µs. The fast path only accepts a file in
# which every line matches; otherwise the strict line parser runs and names the bad line.

_ADDR = r"([0-9a-fA-F:.]+)"
_FAST_PATTERNS = {
    DatasetFormat.IP_LOCATION_DB_ASN: re.compile(rf"^{_ADDR},{_ADDR},(\d+),([^\r\n]*)\r?$", re.M),
    DatasetFormat.IP_LOCATION_DB_COUNTRY: re.compile(rf"^{_ADDR},{_ADDR},([A-Za-z]{{2}})\r?$", re.M),
    DatasetFormat.ROUTEVIEWS_PFX2AS: re.compile(rf"^{_ADDR}\t(\d+)\t([0-9_,]+)\r?$", re.M),
    DatasetFormat.IPTOASN_TSV: re.compile(
        rf"^{_ADDR}\t{_ADDR}\t(\d+)\t([^\t\r\n]*)\t([^\t\r\n]*?)\r?$", re.M
    ),
}
_SKIPPED_LINE = re.compile(r"^(?:#.*|[ \t]*)\r?$", re.M)


def _fast_ip(text: str) -> tuple[int, int]:
    if ":" in text:
        try:
            return 6, parse_ipv6_fast(text)
        except KeyError:  # not in canonical form (upper case, leading zeros): the general parser
            return 6, parse_ipv6(text)
    return 4, parse_ipv4_fast(text)


def _fast_range(first_text: str, last_text: str) -> tuple[int, int, int]:
    version, first = _fast_ip(first_text)
    last_version, last = _fast_ip(last_text)
    if version != last_version or last < first:
        raise ValueError("bad range")
    return version, first, last


@dataclass(slots=True)
class ParsedDataset:
    """One file's ranges, split by IP version and by what they map to."""

    format: DatasetFormat
    row_count: int = 0
    asn_ranges: dict[int, list[tuple[int, int, int]]] = field(default_factory=lambda: {4: [], 6: []})
    country_ranges: dict[int, list[tuple[int, int, str]]] = field(default_factory=lambda: {4: [], 6: []})
    names: dict[int, str] = field(default_factory=dict)  # AS number -> the first name given for it

    def add(self, row: RangeRow) -> None:
        version, first, last, asn, name, country = row
        self.row_count += 1
        if asn:
            self.asn_ranges[version].append((first, last, asn))
            if name and asn not in self.names:
                self.names[asn] = name
        if country:
            self.country_ranges[version].append((first, last, country))


def _every_data_line(text: str, matched: int) -> bool:
    """Whether `matched` regex matches cover every line that is not blank or a comment."""
    if matched == text.count("\n") + (0 if text.endswith("\n") else 1):
        return True  # every line matched: no need to look for blank lines and comments
    return matched == text.count("\n") + 1 - len(_SKIPPED_LINE.findall(text))


def _fast_parse(fmt: DatasetFormat, text: str) -> ParsedDataset | None:
    """All rows, or None when some line needs the strict parser (to skip it or to report it)."""
    matches = _FAST_PATTERNS[fmt].findall(text)
    if not _every_data_line(text, len(matches)):
        return None
    parsed = ParsedDataset(fmt)
    octet = OCTET_VALUES
    try:
        if fmt is DatasetFormat.IP_LOCATION_DB_ASN:
            v4_ranges, names = parsed.asn_ranges[4], parsed.names
            for first_text, last_text, asn_text, name in matches:
                asn = int(asn_text)
                if asn > MAX_ASN:
                    return None
                if asn == 0:  # unannounced space: no AS, as in the per-row path
                    continue
                if asn not in names:
                    if name.startswith('"'):
                        if len(name) < 2 or not name.endswith('"'):
                            return None
                        name = name[1:-1].replace('""', '"')
                    if name.strip():
                        names[asn] = name.strip()
                if ":" in first_text or ":" in last_text:
                    version, first, last = _fast_range(first_text, last_text)
                    parsed.asn_ranges[version].append((first, last, asn))
                    continue
                # IPv4 inline: this loop runs 400,000 times for one real file
                a, b, c, d = first_text.split(".")
                first = (octet[a] << 24) | (octet[b] << 16) | (octet[c] << 8) | octet[d]
                a, b, c, d = last_text.split(".")
                last = (octet[a] << 24) | (octet[b] << 16) | (octet[c] << 8) | octet[d]
                if last < first:
                    return None
                v4_ranges.append((first, last, asn))
        elif fmt is DatasetFormat.IP_LOCATION_DB_COUNTRY:
            v4_countries: list[tuple[int, int, str]] = parsed.country_ranges[4]
            codes: dict[str, str] = {}  # interned upper-case codes
            for first_text, last_text, code in matches:
                country = codes.get(code) or codes.setdefault(code, code.upper())
                if ":" in first_text or ":" in last_text:
                    version, first, last = _fast_range(first_text, last_text)
                    parsed.country_ranges[version].append((first, last, country))
                    continue
                a, b, c, d = first_text.split(".")
                first = (octet[a] << 24) | (octet[b] << 16) | (octet[c] << 8) | octet[d]
                a, b, c, d = last_text.split(".")
                last = (octet[a] << 24) | (octet[b] << 16) | (octet[c] << 8) | octet[d]
                if last < first:
                    return None
                v4_countries.append((first, last, country))
        elif fmt is DatasetFormat.ROUTEVIEWS_PFX2AS:
            for network_text, length_text, asn_text in matches:
                version, network = _fast_ip(network_text)
                first, last = prefix_range(version, network, int(length_text))
                asn = parse_asn(asn_text)
                if asn:
                    parsed.asn_ranges[version].append((first, last, asn))
        else:
            for first_text, last_text, asn_text, country, name in matches:
                row = _iptoasn_row(first_text, last_text, asn_text, country, name)
                if row is not None:
                    parsed.add(row)
            return parsed
    except (KeyError, ValueError):
        return None
    parsed.row_count = sum(len(ranges) for ranges in parsed.asn_ranges.values()) + sum(
        len(ranges) for ranges in parsed.country_ranges.values()
    )
    return parsed


def _iptoasn_row(first_text: str, last_text: str, asn_text: str, country: str, name: str) -> RangeRow | None:
    asn = int(asn_text)
    if asn > MAX_ASN:
        raise ValueError("AS number too large")
    if not asn:  # AS 0 = "Not routed"
        return None
    country = country.strip().upper()
    country = "" if country in ("NONE", "") else _country(country)
    return (*_fast_range(first_text, last_text), asn, name.strip(), country)


# --- The bulk path -----------------------------------------------------------------------------
# ip-location-db's IPv4 files (the biggest, 400,000 rows) go faster still: the regex captures the
# addresses, numpy parses all their octets in one call and combines them column-wise. Octets
# with leading zeros and values above 255 are refused (as ipaddress refuses them).

_IPV4 = r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"
_LEADING_ZERO = re.compile(r"\.0[0-9]")  # inside the joined text; the very start is checked apart
_BULK_PATTERNS = {
    DatasetFormat.IP_LOCATION_DB_ASN: re.compile(rf"^{_IPV4},{_IPV4},([0-9]{{1,10}}),([^\r\n]*)\r?$", re.M),
    DatasetFormat.IP_LOCATION_DB_COUNTRY: re.compile(rf"^{_IPV4},{_IPV4},([A-Za-z]{{2}})\r?$", re.M),
}


def _ipv4_column(texts: list[str]) -> list[int] | None:
    """Dotted quads -> integers, vectorised; None when one is not an address."""
    joined = ".".join(texts)
    # "192.0.02.1" is ambiguous (octal?); ipaddress rejects it too.
    if _LEADING_ZERO.search(joined) or (joined[:1] == "0" and joined[1:2].isdigit()):
        return None
    try:
        octets = numpy.fromstring(joined, dtype=numpy.int64, sep=".")
    except (ValueError, DeprecationWarning):  # pragma: no cover - a numpy without text parsing
        return None
    if octets.size != 4 * len(texts) or (octets > 255).any():
        return None
    quads = octets.reshape(-1, 4)
    values = (quads[:, 0] << 24) | (quads[:, 1] << 16) | (quads[:, 2] << 8) | quads[:, 3]
    column: list[int] = values.tolist()  # Python ints
    return column


def _bulk_ipv4(fmt: DatasetFormat, text: str) -> ParsedDataset | None:
    """An all-IPv4 ip-location-db file, or None (then the per-row paths decide)."""
    pattern = _BULK_PATTERNS.get(fmt)
    if pattern is None or numpy is None:
        return None
    matches = pattern.findall(text)
    if not matches or not _every_data_line(text, len(matches)):
        return None
    firsts = _ipv4_column([match[0] for match in matches])
    lasts = _ipv4_column([match[1] for match in matches])
    if firsts is None or lasts is None or any(map(int.__lt__, lasts, firsts)):
        return None
    parsed = ParsedDataset(fmt, row_count=len(matches))
    if fmt is DatasetFormat.IP_LOCATION_DB_COUNTRY:
        codes = {code: code.upper() for code in {match[2] for match in matches}}
        parsed.country_ranges[4] = list(
            zip(firsts, lasts, [codes[match[2]] for match in matches], strict=True)
        )
        return parsed
    asn_numbers = numpy.fromstring(",".join([match[2] for match in matches]), dtype=numpy.int64, sep=",")
    if asn_numbers.size != len(matches) or (asn_numbers > MAX_ASN).any() or not asn_numbers.all():
        return None  # AS 0 (unannounced space) rows are dropped by the per-row path
    asns: list[int] = asn_numbers.tolist()
    names = parsed.names
    for asn, (_, _, _, name) in zip(asns, matches, strict=True):
        if asn in names:
            continue
        if name.startswith('"'):
            if len(name) < 2 or not name.endswith('"'):
                return None
            name = name[1:-1].replace('""', '"')
        if name.strip():
            names[asn] = name.strip()
    parsed.asn_ranges[4] = list(zip(firsts, lasts, asns, strict=True))
    return parsed


def parse_dataset(text: str, *, source_name: str) -> ParsedDataset:
    """Detect the format and parse every row; DatasetError names the file and the first bad line."""
    fmt, slow_rows = read_rows(iter(io.StringIO(text)), source_name=source_name)
    parsed = _bulk_ipv4(fmt, text) or _fast_parse(fmt, text)
    if parsed is None:
        parsed = ParsedDataset(fmt)
        for row in slow_rows:
            parsed.add(row)
    return parsed
