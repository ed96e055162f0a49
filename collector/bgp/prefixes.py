"""Prefixes as integers: one key per prefix, address ranges as [start, end) intervals.

The routing table holds about a million prefixes; `ipaddress` objects cost a microsecond and a
hundred bytes each, so the table keys a prefix by one int and counts addresses by interval
arithmetic. An IPv4 key is `start << 8 | length` (non-negative); an IPv6 key is the bitwise
complement of `start << 8 | length` (negative), so the two families never collide and the family
is the key's sign.
"""

from __future__ import annotations

import ipaddress

__all__ = [
    "PrefixError",
    "is_ipv4_key",
    "key_interval",
    "key_text",
    "normalise_prefix",
    "prefix_key",
]


class PrefixError(ValueError):
    """Text that is not a network prefix (the message says why)."""


def normalise_prefix(text: str) -> str:
    """The canonical text of a prefix ("2a01:6e00:0:0:0:0:0:0/48" -> "2a01:6e00::/48").

    Host bits set are refused, not masked: a feed that sends 192.0.2.1/24 is broken, and
    guessing which network it meant would hide that.
    """
    if "/" not in text:
        raise PrefixError(f"{text!r} has no prefix length")
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as exc:
        raise PrefixError(f"{text!r} is not a network prefix: {exc}") from None


def prefix_key(text: str) -> int:
    """The int key of a normalised prefix (see the module docstring)."""
    address, _, length_text = text.partition("/")
    length = int(length_text)
    if ":" in address:
        return ~(int(ipaddress.IPv6Address(address)) << 8 | length)
    a, b, c, d = address.split(".")
    return (int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)) << 8 | length


def is_ipv4_key(key: int) -> bool:
    return key >= 0


def key_interval(key: int) -> tuple[int, int]:
    """[start, end) of the addresses the prefix covers, within its own family."""
    if key >= 0:
        length = key & 0xFF
        start = key >> 8
        return start, start + (1 << (32 - length))
    raw = ~key
    length = raw & 0xFF
    start = raw >> 8
    return start, start + (1 << (128 - length))


def key_text(key: int) -> str:
    start, _ = key_interval(key)
    if key >= 0:
        return f"{ipaddress.IPv4Address(start)}/{key & 0xFF}"
    return f"{ipaddress.IPv6Address(start)}/{~key & 0xFF}"
