"""Walking a protobuf message's top-level fields from its bytes, allocating nothing per field (pure).

The encoding (https://protobuf.dev/programming-guides/encoding/): each field
is a varint key (field number << 3 | wire type) and then a varint, 8 bytes, 4
bytes, or a varint length and that many bytes. Reading only keys and lengths
lets a receiver count or cut a repeated field before decoding the message:
the collector bounds a ResultBatch's items (collector/wire/batch_frame.py),
the probe cuts a WorkPlan's tasks (probe/daemon/wire.py).
"""

from __future__ import annotations

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class FrameError(ValueError):
    """The bytes are not a well-formed protobuf message (the reason names the offset)."""


def varint(raw: bytes, offset: int) -> tuple[int, int]:
    """(value, offset after it) of the varint at `offset`."""
    value = 0
    shift = 0
    end = len(raw)
    while True:
        if offset >= end:
            raise FrameError(f"truncated varint at byte {offset}")
        byte = raw[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
        if shift >= 64:
            raise FrameError(f"varint longer than 10 bytes at byte {offset}")


def skip_value(raw: bytes, offset: int, key: int) -> int:
    """The offset after the value of the field whose key was just read (ending at `offset`)."""
    wire_type = key & 7
    if wire_type == VARINT:
        return varint(raw, offset)[1]
    if wire_type == FIXED64:
        return offset + 8
    if wire_type == FIXED32:
        return offset + 4
    if wire_type == LENGTH_DELIMITED:
        length, offset = varint(raw, offset)
        return offset + length
    raise FrameError(f"wire type {wire_type} of field {key >> 3} at byte {offset}")
