"""What a forked ICMP sender tells the sweep over a pipe: batches sent, send errors, the end (pure).

One message per batch: a header (when the batch was done sending, how many indices, how many
failures), the packet indices as native 32-bit integers, then (index, errno) pairs. Both ends
are processes of one machine, so native byte order is right. An `at_ns` of -1 says the
sender has sent everything. Messages may arrive split across reads: ReportReader keeps the
remainder.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

_HEADER = struct.Struct("=qII")
_DONE_AT = -1


@dataclass(frozen=True, slots=True)
class SentBatch:
    at_ns: int  # no earlier than any send of the batch (the sender's wall clock)
    indices: Sequence[int]  # the packets handed to the kernel, failures included
    failures: tuple[tuple[int, int], ...]  # (packet index, errno) of sends that failed


def encode_batch(at_ns: int, indices: Sequence[int], failures: Sequence[tuple[int, int]]) -> bytes:
    flat = array("I", [value for pair in failures for value in pair])
    return _HEADER.pack(at_ns, len(indices), len(failures)) + array("I", indices).tobytes() + flat.tobytes()


def encode_done() -> bytes:
    return _HEADER.pack(_DONE_AT, 0, 0)


class ReportReader:
    def __init__(self) -> None:
        self._pending = b""
        self.done = False  # the sender said it has sent everything

    def feed(self, data: bytes) -> list[SentBatch]:
        buffer = self._pending + data if self._pending else data
        batches: list[SentBatch] = []
        offset = 0
        while len(buffer) - offset >= _HEADER.size:
            at_ns, count, failed = _HEADER.unpack_from(buffer, offset)
            end = offset + _HEADER.size + 4 * count + 8 * failed
            if len(buffer) < end:
                break
            start = offset + _HEADER.size
            offset = end
            if at_ns == _DONE_AT:
                self.done = True
                continue
            indices = array("I")
            indices.frombytes(buffer[start : start + 4 * count])
            flat = array("I")
            flat.frombytes(buffer[start + 4 * count : end])
            pairs = tuple(zip(flat[0::2], flat[1::2], strict=True))
            batches.append(SentBatch(at_ns, indices, pairs))
        self._pending = buffer[offset:]
        return batches
