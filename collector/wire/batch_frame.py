"""A ResultBatch's items read from its wire bytes before decoding: count, sizes, suspect RTTs (pure).

Decoding a whole batch before counting its items lets one message cost what
its largest possible item count costs: 8 M empty items fit in 16 MB and took
1.78 GB and 6 s of CPU to decode. Walking the top-level fields of the
protobuf encoding (https://protobuf.dev/programming-guides/encoding/) costs
one tag and one length per item and stops at the first item over the limit,
so an oversized batch costs O(limit). The same walk, made once per batch,
finds what validation would otherwise read field by field:

- each item's encoded size: an item too large to be a real measurement (a
  10 MB failure detail) is rejected before it is decoded, and an item no
  longer than the shortest string bound cannot hold an over-long string, so
  validation reads its strings' lengths only for the few longer items;
- which items may hold an out-of-range ping reply RTT. Reading each reply
  costs a Python object (~0.5 us, three per ping); instead one regular
  expression scans the batch, in C, for every encoding of PingReply.rtt_ms
  (field 3, wire type 1: tag 0x19, or the same tag as an over-long varint)
  whose last byte, the double's sign and top exponent bits, is 0x41 or more.
  Every double that is negative, NaN, infinite or at least 2^17 (131,072;
  the bound is 600,000 ms) has such a last byte, so no bad RTT is missed;
  the pattern also matches other bytes now and then (a double or a varint
  that happens to contain 0x19), and those items are simply checked reply by
  reply, exactly.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vantage.wireframe import FrameError, skip_value, varint

__all__ = ["BatchFrame", "FrameError", "TooManyItems", "frame_items"]

# ResultBatch.measurements = 2, length-delimited: tag (2 << 3) | 2.
_MEASUREMENTS_TAG = 0x12
# A PingReply.rtt_ms (3 << 3 | 1 = 0x19) whose double's most significant byte (little-endian,
# the 8th) is >= 0x41: see the module docstring. The same tag spelled as an over-long varint
# (0x99, 0x80..., 0x00) is a pattern of its own: each starts with a literal byte, which the
# regular expression engine finds at memchr speed (one alternation was 40 times slower).
_SUSPECT_RTT = re.compile(rb"\x19.{7}[\x41-\xff]", re.DOTALL)
_SUSPECT_RTT_LONG_TAG = re.compile(rb"\x99[\x80-\xff]{0,8}\x00.{7}[\x41-\xff]", re.DOTALL)


def _next_suspect(raw: bytes, start: int) -> int:
    """Where the first candidate RTT at or after `start` begins (len(raw): none). re.search
    tries every position in turn, so overlapping candidates cannot hide one another."""
    end = len(raw)
    short = _SUSPECT_RTT.search(raw, start)
    long = _SUSPECT_RTT_LONG_TAG.search(raw, start, short.start() if short is not None else end)
    if long is not None:
        return long.start()
    return short.start() if short is not None else end


class TooManyItems(ValueError):
    """The batch holds more than the limit (counted up to limit + 1)."""


class BatchFrame(NamedTuple):
    """What the wire bytes say about a batch's items (picklable: it travels to an ingest process)."""

    items: int
    oversized: frozenset[int]  # items longer than max_item_bytes encoded
    long: frozenset[int]  # items longer than long_item_bytes encoded (may hold a long name)
    longer: frozenset[int]  # items longer than longer_item_bytes encoded (may hold a long text)
    suspect_rtt: frozenset[int]  # items that may hold a ping reply RTT out of range


def frame_items(
    raw: bytes, *, max_items: int, max_item_bytes: int, long_item_bytes: int, longer_item_bytes: int
) -> BatchFrame:
    """Walk the encoded ResultBatch's top-level fields once.

    Raises TooManyItems at item max_items + 1 (nothing further is read) and
    FrameError when the bytes are not a well-formed message. A tag and a length
    per item, nothing allocated for an item of ordinary size, and one scan of the
    bytes in C for candidate RTTs (made as the walk goes: it stops with the walk).
    """
    if not 0x80 <= long_item_bytes <= longer_item_bytes <= max_item_bytes:
        raise ValueError("the size bounds ascend from at least 128 bytes (no shorter item is measured)")
    end = len(raw)
    next_suspect = -1  # where the next candidate RTT starts (end: none); found lazily, item by item
    count = 0
    offset = 0
    oversized: list[int] = []
    long: list[int] = []
    longer: list[int] = []
    flagged: list[int] = []
    try:
        while offset < end:
            if raw[offset] == _MEASUREMENTS_TAG:  # the common case: a one-byte tag
                start = offset
                length = raw[offset + 1]  # past the end: IndexError, a truncated message
                if length < 0x80:
                    offset += 2 + length
                else:
                    second = raw[offset + 2]
                    if second < 0x80:  # 128 B - 16 KiB: every real measurement
                        length = (length & 0x7F) | (second << 7)
                        offset += 3 + length
                    else:
                        length, offset = varint(raw, offset + 1)
                        offset += length
                    if length > long_item_bytes:  # the bounds are in ascending order
                        long.append(count)
                        if length > longer_item_bytes:
                            longer.append(count)
                            if length > max_item_bytes:
                                oversized.append(count)
                if next_suspect < start:  # one search per flagged item: the scan is O(bytes)
                    next_suspect = _next_suspect(raw, start)
                if next_suspect < offset:
                    flagged.append(count)
                count += 1
                if count > max_items:
                    raise TooManyItems(f"more than {max_items} measurements")
                continue
            key, offset = varint(raw, offset)
            offset = skip_value(raw, offset, key)
    except IndexError:
        raise FrameError(f"the message ends inside a field's length (byte {offset})") from None
    if offset > end:
        raise FrameError(f"a field runs {offset - end} bytes past the end of the message")
    return BatchFrame(count, frozenset(oversized), frozenset(long), frozenset(longer), frozenset(flagged))
