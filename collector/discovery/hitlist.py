"""Standard hitlists in: ISI/ANT IPv4 response histories and IPv6 address lists (pure parsers).

IPv4 (ISI/ANT "Internet address history", Fsdb): a header `#fsdb -F t hex_ip history score`
(tab-separated columns; the header's column names locate them, so another order works; other `#`
lines are comments), then one address per line: `hex_ip` 8 hex digits (c0000201 = 192.0.2.1),
`history` hex digits of a bitmap with one bit per census, least significant bit the latest
census (we keep the latest 16, as our own history: history.py), `score` ISI's integer score (-99..99;
below 0 counts as 0 for --min-score).

IPv6: one address per line (`#` comments, blank lines ignored), grouped into /48 blocks.

gzip is handled at the CLI edge; these take text lines. Every bad line becomes a
`HitlistLineError` naming its line number, and the good lines are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vantage.collector.asn.ipnum import parse_ipv6
from vantage.collector.discovery.history import HISTORY_CENSUSES, BlockHistory, shifted
from vantage.collector.discovery.space import ipv6_block_cidr

ISI_COLUMNS = ("hex_ip", "history", "score")
_HISTORY_MASK = (1 << HISTORY_CENSUSES) - 1
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class HitlistEntry:
    address: int  # IPv4 address as an integer
    history: int  # the latest 16 censuses, bit 0 the latest
    score: int  # ISI's, -99..99


@dataclass(frozen=True, slots=True)
class Ipv6HitlistEntry:
    address: int
    block: str  # the /48 as CIDR text


@dataclass(frozen=True, slots=True)
class HitlistLineError:
    line_number: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedHitlist:
    entries: tuple[HitlistEntry, ...]
    errors: tuple[HitlistLineError, ...]


@dataclass(frozen=True, slots=True)
class ParsedIpv6Hitlist:
    entries: tuple[Ipv6HitlistEntry, ...]
    errors: tuple[HitlistLineError, ...]


def parse_isi_hitlist(lines: Iterable[str]) -> ParsedHitlist:
    """An ISI/ANT IPv4 history file -> entries of the good lines, errors of the bad ones."""
    entries: list[HitlistEntry] = []
    errors: list[HitlistLineError] = []
    columns = {name: index for index, name in enumerate(ISI_COLUMNS)}
    width = len(ISI_COLUMNS)
    for line_number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if line.startswith("#fsdb"):
            header = _fsdb_columns(line)
            missing = [name for name in ISI_COLUMNS if name not in header]
            if missing:
                errors.append(
                    HitlistLineError(line_number, f"fsdb header lacks column(s) {', '.join(missing)}")
                )
                continue
            columns = {name: header.index(name) for name in ISI_COLUMNS}
            width = len(header)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != width:
            errors.append(
                HitlistLineError(line_number, f"expected {width} tab-separated fields, got {len(fields)}")
            )
            continue
        hex_ip, history, score = (fields[columns[name]].strip() for name in ISI_COLUMNS)
        if len(hex_ip) != 8 or not set(hex_ip) <= _HEX:
            errors.append(HitlistLineError(line_number, f"hex_ip {hex_ip!r} is not 8 hex digits"))
            continue
        if not history or not set(history) <= _HEX:
            errors.append(HitlistLineError(line_number, f"history {history!r} is not hex digits"))
            continue
        try:
            score_value = int(score)
        except ValueError:
            errors.append(HitlistLineError(line_number, f"score {score!r} is not an integer"))
            continue
        if not -99 <= score_value <= 99:
            errors.append(HitlistLineError(line_number, f"score {score_value} is outside -99..99"))
            continue
        entries.append(HitlistEntry(int(hex_ip, 16), int(history[-4:], 16) & _HISTORY_MASK, score_value))
    return ParsedHitlist(tuple(entries), tuple(errors))


def parse_ipv6_hitlist(lines: Iterable[str]) -> ParsedIpv6Hitlist:
    """One IPv6 address per line -> entries (with their /48) and the bad lines."""
    entries: list[Ipv6HitlistEntry] = []
    errors: list[HitlistLineError] = []
    for line_number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            address = parse_ipv6(text.lower())
        except ValueError:
            errors.append(HitlistLineError(line_number, f"{text!r} is not an IPv6 address"))
            continue
        entries.append(Ipv6HitlistEntry(address, ipv6_block_cidr(address)))
    return ParsedIpv6Hitlist(tuple(entries), tuple(errors))


def hitlist_histories(
    entries: Iterable[HitlistEntry],
    epoch: int,
    *,
    min_score: int = 0,
    existing: Mapping[int, BlockHistory] | None = None,
) -> dict[int, BlockHistory]:
    """Block histories at `epoch` with the hitlist's bitmaps ORed in (entries scoring below min_score
    and entries with an empty history are skipped). Only the blocks the hitlist touches are returned;
    an existing history (older or equal epoch) is shifted to `epoch` first, a newer one kept as is
    with the hitlist's bitmaps ORed in at the same bit positions.
    """
    bitmaps: dict[int, dict[int, int]] = {}
    for entry in entries:
        if entry.history == 0 or max(entry.score, 0) < min_score:
            continue
        of_block = bitmaps.setdefault(entry.address >> 8, {})
        host = entry.address & 255
        of_block[host] = of_block.get(host, 0) | entry.history
    result: dict[int, BlockHistory] = {}
    for block, hosts in bitmaps.items():
        base = (existing or {}).get(block)
        at = epoch if base is None else max(epoch, base.epoch)
        merged = {} if base is None else shifted(base, at).bitmaps()
        for host, bits in hosts.items():
            bits = (bits << (at - epoch)) & _HISTORY_MASK
            if bits:
                merged[host] = merged.get(host, 0) | bits
        result[block] = BlockHistory(block, at, tuple(h << 16 | b for h, b in sorted(merged.items()) if b))
    return result


def _fsdb_columns(header: str) -> list[str]:
    """Column names of an Fsdb header: `#fsdb [-F x] [-R x] name name ...`."""
    words = header.split()[1:]
    names: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word.startswith("-") and len(word) == 2:
            skip_next = True  # an option and its value
        elif not word.startswith("-"):
            names.append(word.split(":", 1)[0])  # fsdb allows name:type
    return names
