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


# Feeds repeat the same prefixes all day: parsing each once is most of a message's cost, so
# the texts already seen are remembered (bounded: the table's size is a few million at most).
_CACHE_LIMIT = 1 << 21
_normalised: dict[str, str] = {}
_keys: dict[str, int] = {}


def normalise_prefix(text: str) -> str:
    """The canonical text of a prefix ("2a01:6e00:0:0:0:0:0:0/48" -> "2a01:6e00::/48").

    Host bits set are refused, not masked: a feed that sends 192.0.2.1/24 is broken, and
    guessing which network it meant would hide that.
    """
    known = _normalised.get(text)
    if known is not None:
        return known
    result = _ipv4(text)
    if result is None:
        if "/" not in text:
            raise PrefixError(f"{text!r} has no prefix length")
        try:
            result = str(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise PrefixError(f"{text!r} is not a network prefix: {exc}") from None
    if len(_normalised) >= _CACHE_LIMIT:
        _normalised.clear()
    _normalised[text] = result
    return result


def _ipv4(text: str) -> str | None:
    """The fast path for the common case, a well-formed IPv4 prefix; None for anything else
    (ipaddress then decides, and explains a refusal)."""
    address, slash, length_text = text.partition("/")
    parts = address.split(".")
    if not slash or len(parts) != 4 or not length_text.isascii() or not length_text.isdigit():
        return None
    value = 0
    for part in parts:
        if not part.isascii() or not part.isdigit() or len(part) > 3 or (part[0] == "0" and part != "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    length = int(length_text)
    if length > 32 or value & ((1 << (32 - length)) - 1):
        return None
    return f"{address}/{length}"


def prefix_key(text: str) -> int:
    """The int key of a normalised prefix (see the module docstring)."""
    key = _keys.get(text)
    if key is not None:
        return key
    address, _, length_text = text.partition("/")
    length = int(length_text)
    if ":" in address:
        key = ~(int(ipaddress.IPv6Address(address)) << 8 | length)
    else:
        a, b, c, d = address.split(".")
        key = (int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)) << 8 | length
    if len(_keys) >= _CACHE_LIMIT:
        _keys.clear()
    _keys[text] = key
    return key


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
