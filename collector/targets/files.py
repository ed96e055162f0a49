"""Target files: the project's CSV and Citizen Lab test lists, parsed and validated row by row.

Two formats, recognised by their header line (these names in this order; case and spaces around
names are ignored, as spreadsheets change them):

- the project's own CSV, ``target,protocols,country,asn,tags``:
  target = an IP address, an RFC 1123 host name or an http(s) URL; protocols = one or more
  of the kind names in vantage/protocols.py (icmp, dns, http, tcp) separated by ';'; country
  (ISO 3166-1 alpha-2), asn (1..4294967295) and tags (';'-separated) may be empty; an empty
  country takes `default_country`;
- Citizen Lab test lists, ``url,category_code,category_description,date_added,source,notes``:
  every row becomes a URL target measured with http;dns;tcp, tagged with its category code and
  ``list:CC`` (the list's country) or ``list:global``. The list's country is `default_country`
  when given, else the file name when it is a country code (``kz.csv``); any other file
  (``global.csv``) is the global list. A row's `country` is the list's country ("" for global).

Tags with a meaning (see docs/assignment.md): ``qname:NAME``, ``qtype:TYPE``, ``expect:ADDR``
(repeatable), ``port:N``, ``list:global`` / ``list:CC``; they are validated here. Any other tag
is free text without spaces.

Bad rows become RowError(line, message) and the good rows are kept, so an import reports every
problem at once and loses nothing. A file whose header is neither format is one RowError at
line 1. A target repeated in the same file is an error on the later line.
"""

from __future__ import annotations

import csv
import io
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from vantage.collector.targets.countries import ISO_3166_ALPHA2, normalize_country
from vantage.collector.targets.hostnames import parse_http_url, validate_hostname
from vantage.kinds import Protocol
from vantage.protocols import KINDS, listed_names

__all__ = [
    "CITIZENLAB_HEADER",
    "CITIZENLAB_PROTOCOLS",
    "OWN_CSV_HEADER",
    "ParsedTargets",
    "RowError",
    "TargetKind",
    "TargetRow",
    "parse_targets",
    "tag_values",
]

OWN_CSV_HEADER = ("target", "protocols", "country", "asn", "tags")
CITIZENLAB_HEADER = ("url", "category_code", "category_description", "date_added", "source", "notes")
# What OONI's Web Connectivity test measures for a test-list URL: DNS, TCP connect, HTTP fetch.
CITIZENLAB_PROTOCOLS = (Protocol.DNS, Protocol.HTTP, Protocol.TCP)
MAX_ASN = 4_294_967_295  # 32-bit AS numbers (RFC 6793); 0 is reserved (RFC 7607)

TargetKind = Literal["address", "hostname", "url"]
_PROTOCOL_NAMES = {kind.name: kind.protocol for kind in KINDS}
# Record types a DNS measurement may ask for (what dnspython and the probe engine handle well).
_QUERY_TYPES = frozenset({"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA", "HTTPS"})


@dataclass(frozen=True, slots=True)
class TargetRow:
    target: str  # canonical: compressed IP text, lower-case host name, or the URL as given
    kind: TargetKind
    protocols: tuple[Protocol, ...]  # sorted, no duplicates
    country: str  # ISO 3166-1 alpha-2, "" = look it up (own CSV) or the global list
    asn: int | None  # None = look it up
    tags: tuple[str, ...]  # in file order, no duplicates
    source: Literal["csv", "citizenlab"]
    line: int  # 1-based line in the file (the header is line 1)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedTargets:
    rows: tuple[TargetRow, ...]
    errors: tuple[RowError, ...]
    format: Literal["csv", "citizenlab", "unknown"]


def tag_values(tags: tuple[str, ...], key: str) -> tuple[str, ...]:
    """Values of `key:VALUE` tags, in order: tag_values(("port:53", "x"), "port") == ("53",)."""
    prefix = key + ":"
    return tuple(tag[len(prefix) :] for tag in tags if tag.startswith(prefix))


def parse_targets(text: str, *, source_name: str, default_country: str = "") -> ParsedTargets:
    """Parse a target file. `source_name` (the file name) names the Citizen Lab list's country.

    ValueError only for a bad `default_country` (the caller's argument, not the file's content).
    """
    default = normalize_country(default_country) if default_country.strip() else ""
    text = text.removeprefix("\ufeff")  # a byte-order mark from spreadsheet exports
    first_line = text.split("\n", 1)[0]
    header = tuple(name.strip().lower() for name in next(csv.reader([first_line]), []))
    if header == OWN_CSV_HEADER:
        return _parse_rows(text, _own_row, default, "csv")
    if header == CITIZENLAB_HEADER:
        return _parse_rows(text, _citizenlab_row, default or _country_from_name(source_name), "citizenlab")
    error = RowError(
        1,
        f"{source_name}: unrecognised header {','.join(header)!r}; expected {','.join(OWN_CSV_HEADER)!r} "
        f"or a Citizen Lab test list ({','.join(CITIZENLAB_HEADER)!r})",
    )
    return ParsedTargets((), (error,), "unknown")


def _country_from_name(source_name: str) -> str:
    stem = PurePath(source_name).name.split(".")[0].upper()
    return stem if stem in ISO_3166_ALPHA2 else ""


_RowParser = Callable[[list[str], str, int], TargetRow]


def _parse_rows(
    text: str, parse_one: _RowParser, country: str, fmt: Literal["csv", "citizenlab"]
) -> ParsedTargets:
    rows: list[TargetRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    next(reader)  # the header, already checked
    end_of_previous = reader.line_num
    while True:
        line = end_of_previous + 1  # a quoted field may span lines: report where the row starts
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(RowError(line, f"unreadable CSV: {error}"))
            break
        end_of_previous = reader.line_num
        if not any(field.strip() for field in fields):
            continue  # a blank line
        try:
            row = parse_one(fields, country, line)
        except ValueError as error:
            errors.append(RowError(line, str(error)))
            continue
        earlier = first_line_of.setdefault(row.target, line)
        if earlier != line:
            errors.append(RowError(line, f"{row.target} is already listed on line {earlier}"))
            continue
        rows.append(row)
    return ParsedTargets(tuple(rows), tuple(errors), fmt)


def _classify_target(text: str) -> tuple[str, TargetKind]:
    target = text.strip()
    if not target:
        raise ValueError("target is empty")
    if "://" in target:
        parse_http_url(target)
        return target, "url"
    try:
        return str(ipaddress.ip_address(target)), "address"
    except ValueError:
        pass
    try:
        return validate_hostname(target), "hostname"
    except ValueError as error:
        raise ValueError(
            f"target {target!r} is not an IP address, host name or http(s) URL: {error}"
        ) from None


def _parse_protocols(text: str) -> tuple[Protocol, ...]:
    names = [name.strip().lower() for name in text.split(";") if name.strip()]
    if not names:
        raise ValueError(f"protocols is empty; give one or more of {';'.join(_PROTOCOL_NAMES)}")
    unknown = [name for name in names if name not in _PROTOCOL_NAMES]
    if unknown:
        raise ValueError(f"unknown protocol {unknown[0]!r}; expected {listed_names()}")
    return tuple(sorted({_PROTOCOL_NAMES[name] for name in names}))


def _parse_asn(text: str) -> int | None:
    token = text.strip()
    if not token:
        return None
    token = token.upper().removeprefix("AS")
    if not token.isdigit() or not token.isascii() or not 1 <= int(token) <= MAX_ASN:
        raise ValueError(f"asn {text.strip()!r} is not an AS number (1..{MAX_ASN})")
    return int(token)


def _parse_tags(text: str) -> tuple[str, ...]:
    tags: list[str] = []
    for raw in text.split(";"):
        tag = raw.strip()
        if not tag:
            continue
        tag = _normalize_tag(tag)
        if tag not in tags:
            tags.append(tag)
    if len(tag_values(tuple(tags), "port")) > 1:
        raise ValueError("more than one port: tag")
    return tuple(tags)


def _normalize_tag(tag: str) -> str:
    """The tag in canonical form (list:kz -> list:KZ, qtype:aaaa -> qtype:AAAA); ValueError when invalid."""
    if any(character.isspace() for character in tag):
        raise ValueError(f"tag {tag!r} contains white space")
    key, colon, value = tag.partition(":")
    if not colon:
        return tag
    if key == "port" and not (value.isdigit() and value.isascii() and 1 <= int(value) <= 65535):
        raise ValueError(f"tag {tag!r}: port must be 1..65535")
    if key == "qname" and value != ".":
        try:
            validate_dns_name(value)
        except ValueError as error:
            raise ValueError(f"tag {tag!r}: {error}") from None
    if key == "qtype" and value.upper() not in _QUERY_TYPES:
        raise ValueError(f"tag {tag!r}: query type must be one of {', '.join(sorted(_QUERY_TYPES))}")
    if key == "expect":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"tag {tag!r}: expected answer must be an IP address") from None
    if key == "list" and value != "global":
        if value.upper() not in ISO_3166_ALPHA2:
            raise ValueError(f"tag {tag!r}: list must be 'global' or an ISO 3166-1 alpha-2 country code")
        return f"list:{value.upper()}"
    if key == "qtype":
        return f"qtype:{value.upper()}"
    return tag


def validate_dns_name(text: str) -> str:
    """A DNS query name: like a host name, but underscores are allowed (_dmarc.example.org)."""
    validate_hostname(text.replace("_", "x"))  # same rules, with "_" counted as a letter
    return text.lower().removesuffix(".")


def _own_row(fields: list[str], default_country: str, line: int) -> TargetRow:
    if len(fields) != len(OWN_CSV_HEADER):
        raise ValueError(
            f"expected {len(OWN_CSV_HEADER)} fields ({','.join(OWN_CSV_HEADER)}), got {len(fields)}"
        )
    target_text, protocols_text, country_text, asn_text, tags_text = fields
    target, kind = _classify_target(target_text)
    protocols = _parse_protocols(protocols_text)
    country = normalize_country(country_text) if country_text.strip() else default_country
    tags = _parse_tags(tags_text)
    if Protocol.TCP in protocols and kind != "url" and not tag_values(tags, "port"):
        raise ValueError("tcp needs a port: add a tag port:N (or give a URL)")
    return TargetRow(target, kind, protocols, country, _parse_asn(asn_text), tags, "csv", line)


def _citizenlab_row(fields: list[str], list_country: str, line: int) -> TargetRow:
    if len(fields) != len(CITIZENLAB_HEADER):
        raise ValueError(
            f"expected {len(CITIZENLAB_HEADER)} fields ({','.join(CITIZENLAB_HEADER)}), got {len(fields)}"
        )
    url = parse_http_url(fields[0]).url
    category = fields[1].strip().upper()
    if not category or not category.isalnum():
        raise ValueError(f"category_code {fields[1]!r} is empty or not a code (e.g. NEWS)")
    scope = f"list:{list_country}" if list_country else "list:global"
    return TargetRow(
        url, "url", CITIZENLAB_PROTOCOLS, list_country, None, (category, scope), "citizenlab", line
    )
