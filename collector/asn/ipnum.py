"""IP address text <-> integer, fast enough for bulk dataset loading.

`ipaddress.ip_address` costs a few microseconds per call; loading 400,000-row
datasets parses two addresses per row, so IPv4 (the bulk of the rows and of
the lookups) takes a hand-written path: split on dots, check each octet. IPv6
goes through `ipaddress`, which is exact about the many IPv6 spellings.

Every function returns `(version, value)` so that one integer never stands for
both an IPv4 and an IPv6 address.
"""

from __future__ import annotations

import functools
import ipaddress

IPV4_MAX = (1 << 32) - 1
IPV6_MAX = (1 << 128) - 1


def parse_ipv4(text: str) -> int:
    """Dotted quad -> integer; ValueError on anything else (no leading zeros, no shorthand)."""
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError(f"not an IPv4 address: {text!r}")
    value = 0
    for part in parts:
        # isdigit() alone accepts non-ASCII digits ("١"); isascii() keeps it strict.
        if not part.isdigit() or not part.isascii() or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
            raise ValueError(f"not an IPv4 address: {text!r}")
        octet = int(part)
        if octet > 255:
            raise ValueError(f"not an IPv4 address: {text!r}")
        value = (value << 8) | octet
    return value


OCTET_VALUES = {str(i): i for i in range(256)}  # "01" and "256" are absent: both are errors
_HEX_DIGITS_AND_COLON = "0123456789abcdefABCDEF:"


def parse_ipv4_fast(text: str) -> int:
    """Same result as parse_ipv4, about twice as fast; raises KeyError or ValueError on bad input."""
    a, b, c, d = text.split(".")
    return (OCTET_VALUES[a] << 24) | (OCTET_VALUES[b] << 16) | (OCTET_VALUES[c] << 8) | OCTET_VALUES[d]


def parse_ipv6(text: str) -> int:
    """IPv6 text (hex groups, at most one "::"; no dotted IPv4 tail) -> integer; ValueError otherwise.

    About twice as fast as ipaddress.IPv6Address; parse_ip falls back to
    ipaddress for the dotted-tail spelling (::ffff:192.0.2.1).
    """
    if text.strip(_HEX_DIGITS_AND_COLON):
        raise ValueError(f"not an IPv6 address: {text!r}")
    head, double_colon, tail = text.partition("::")
    if double_colon:
        head_groups = head.split(":") if head else []
        tail_groups = tail.split(":") if tail else []
        missing = 8 - len(head_groups) - len(tail_groups)
        if missing < 1:
            raise ValueError(f"not an IPv6 address: {text!r}")
        groups = [*head_groups, *(["0"] * missing), *tail_groups]
    else:
        groups = text.split(":")
        if len(groups) != 8:
            raise ValueError(f"not an IPv6 address: {text!r}")
    if "" in groups or any(len(group) > 4 for group in groups):
        raise ValueError(f"not an IPv6 address: {text!r}")
    return int("".join([group.rjust(4, "0") for group in groups]), 16)


@functools.cache
def _hex_group_values() -> dict[str, int]:
    """Canonical (RFC 5952: lower case, no leading zeros) 16-bit groups -> value; built on first use."""
    return {format(value, "x"): value for value in range(1 << 16)}


def parse_ipv6_fast(text: str) -> int:
    """parse_ipv6 for canonical text (RFC 5952), ~40 % faster; KeyError or ValueError otherwise.

    Datasets print addresses canonically; callers fall back to parse_ipv6 on KeyError.
    """
    groups = _hex_group_values()
    head, double_colon, tail = text.partition("::")
    value = 0
    if double_colon:
        head_groups = head.split(":") if head else []
        tail_groups = tail.split(":") if tail else []
        missing = 8 - len(head_groups) - len(tail_groups)
        if missing < 1:
            raise ValueError(f"not an IPv6 address: {text!r}")
        for group in head_groups:
            value = (value << 16) | groups[group]
        value <<= 16 * missing
        for group in tail_groups:
            value = (value << 16) | groups[group]
        return value
    all_groups = text.split(":")
    if len(all_groups) != 8:
        raise ValueError(f"not an IPv6 address: {text!r}")
    for group in all_groups:
        value = (value << 16) | groups[group]
    return value


def parse_ip(text: str) -> tuple[int, int]:
    """Address text -> (4 or 6, integer). ValueError when it is not an address.

    IPv4-mapped IPv6 addresses (::ffff:192.0.2.1) are kept as IPv6: datasets
    list them, if at all, in their IPv6 tables.
    """
    if ":" in text:
        if "." not in text:
            return 6, parse_ipv6(text)
        try:
            return 6, int(ipaddress.IPv6Address(text))
        except ValueError:
            raise ValueError(f"not an IPv6 address: {text!r}") from None
    return 4, parse_ipv4(text)


def prefix_range(version: int, network: int, length: int) -> tuple[int, int]:
    """First and last address of network/length; ValueError for a bad length or host bits set."""
    bits = 32 if version == 4 else 128
    if not 0 <= length <= bits:
        raise ValueError(f"prefix length {length} out of range 0..{bits}")
    host_mask = (1 << (bits - length)) - 1
    if network & host_mask:
        raise ValueError(f"host bits set in prefix (length {length})")
    return network, network | host_mask


def format_ip(version: int, value: int) -> str:
    """Integer -> canonical text form."""
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))
