"""What one feed message says, whatever its format: route updates, peer sessions, table ends.

Every parser (ris_live.py, exabgp_json.py, mrt.py) turns one message into a `FeedMessage`; the
routing table (table.py) applies it. Helpers shared by the parsers live here too: reading an AS
number, an AS path and a prefix field, each failing with a `ParseError` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vantage.collector.bgp.model import RouteUpdate
from vantage.collector.bgp.parse_error import ParseError
from vantage.collector.bgp.prefixes import PrefixError, normalise_prefix

__all__ = ["MAX_ASN", "FeedMessage", "PeerState", "as_path_origin", "read_asn", "read_prefix"]

MAX_ASN = 2**32 - 1  # 4-octet AS numbers (RFC 6793)


@dataclass(frozen=True, slots=True)
class PeerState:
    """A peer's session came up or went down: when down, every route it gave is gone (its
    Adj-RIB-In is flushed), which is not a withdrawal by the origins."""

    peer: str
    up: bool
    at_unix_s: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FeedMessage:
    updates: tuple[RouteUpdate, ...] = ()
    peer_states: tuple[PeerState, ...] = ()
    # Peers whose initial table is complete (a BGP End-of-RIB marker, RFC 4724).
    end_of_rib: tuple[str, ...] = ()
    # Something the feed's server says that is not routing (RIS Live's ris_error).
    notice: str = ""


def read_asn(value: object, field: str) -> int:
    """An AS number given as an int or a decimal string (RIS Live sends peer_asn as "58299")."""
    if isinstance(value, bool):
        raise ParseError(field, "bad_asn", f"{value!r} is not an AS number")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_ASN:
        raise ParseError(field, "bad_asn", f"{value!r} is not an AS number (0..{MAX_ASN})")
    return value


def read_prefix(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ParseError(field, "bad_prefix", f"{value!r} is not a prefix string")
    try:
        return normalise_prefix(value)
    except PrefixError as exc:
        raise ParseError(field, "bad_prefix", str(exc)) from None


def as_path_origin(segments: Sequence[tuple[bool, Sequence[int]]]) -> tuple[tuple[int, ...], int | None]:
    """(the flat path, the origin AS) from (is_set, members) segments.

    The flat path keeps every AS in order (a set's members sorted); the origin is the last AS of
    the last segment, or None when the last segment is an AS_SET (an aggregate: its origin is
    not one AS, RFC 4271 section 5.1.2) or the path is empty.
    """
    flat: list[int] = []
    for is_set, members in segments:
        flat.extend(sorted(members) if is_set else members)
    if not segments:
        return (), None
    last_is_set, last_members = segments[-1]
    if last_is_set or not last_members:
        return tuple(flat), None
    return tuple(flat), last_members[-1]
