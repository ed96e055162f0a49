"""The forked sender's reports: encoded, then read back whole or in pieces."""

from __future__ import annotations

import pytest

from vantage.probe.engine.icmp.reports import ReportReader, SentBatch, encode_batch, encode_done

BATCHES = [
    SentBatch(1_000, [0, 1, 2], ()),
    SentBatch(2_000, [3, 4], ((4, 101),)),  # 101: ENETUNREACH
    SentBatch(3_000, [], ()),
    SentBatch(4_000, [70_000, 0xFFFFFFFF], ((70_000, 113), (0xFFFFFFFF, 1))),
]


def _stream() -> bytes:
    encoded = [encode_batch(b.at_ns, b.indices, b.failures) for b in BATCHES]
    return b"".join(encoded) + encode_done()


def _normal(batches: list[SentBatch]) -> list[tuple[int, list[int], tuple[tuple[int, int], ...]]]:
    return [(b.at_ns, list(b.indices), tuple(b.failures)) for b in batches]


@pytest.mark.parametrize("piece", [1, 3, 7, 16, 1 << 20])
def test_batches_survive_any_split(piece: int) -> None:
    stream = _stream()
    reader = ReportReader()
    read: list[SentBatch] = []
    for start in range(0, len(stream), piece):
        assert not reader.done
        read.extend(reader.feed(stream[start : start + piece]))
    assert reader.done
    assert _normal(read) == _normal(BATCHES)


def test_nothing_is_done_until_the_sender_says_so() -> None:
    reader = ReportReader()
    assert _normal(reader.feed(encode_batch(5, [9], ()))) == [(5, [9], ())]
    assert not reader.done
    assert reader.feed(encode_done()) == [] and reader.done
