"""The wire walk that clears items before validation reads them (collector/wire/batch_frame.py):
whatever it clears must be what validation would accept, so each shortcut is tested through
check_raw_batch against the full per-field check."""

from __future__ import annotations

import random
import struct

import pytest

from tests.collector.factories import batch, measurement
from vantage.collector.service.ingest import BatchRefused, check_raw_batch
from vantage.collector.wire.batch_frame import FrameError, frame_items
from vantage.collector.wire.validation import ValidationLimits, check_batch
from vantage.v1 import measurement_pb2

PROBE = "00000000-0000-4000-8000-00000000000a"
NOW = 1_767_600_000.0
BAD_RTTS = [float("inf"), float("-inf"), float("nan"), 1e308, 600_000.5, 524_288.0 * 1.2, -1.0, -1e-300]


def ping(rtts: list[float], ttl: int = 25) -> measurement_pb2.Measurement:
    """ttl 25 is the byte 0x19, the RTT's tag: candidates that are not RTTs."""
    m = measurement(PROBE, started_at=NOW - 10)
    for sequence, rtt_ms in enumerate(rtts):
        m.icmp.replies.add(sequence=sequence, rtt_ms=rtt_ms, ttl=ttl)
    return m


def raw_check(items: list[measurement_pb2.Measurement]) -> list[tuple[int, str]]:
    raw = batch("b", items).SerializeToString()
    checked = check_raw_batch(raw, probe_id=PROBE, limits=ValidationLimits(), max_items=100, now_unix_s=NOW)
    full = check_batch(items, caller_probe_id=PROBE, now_unix_s=NOW, limits=ValidationLimits())
    found = [(r.index, r.field) for r in checked.rejections]
    assert found == [(r.index, r.field) for r in full.rejections]  # the shortcuts change nothing
    return found


@pytest.mark.parametrize("bad", BAD_RTTS, ids=repr)
def test_every_out_of_range_reply_rtt_is_found_from_the_wire(bad: float) -> None:
    rng = random.Random(7)
    items = [ping([rng.uniform(0.0, 599_999.0) for _ in range(3)]) for _ in range(40)]
    items[17] = ping([12.0, bad, 13.0])
    items[39] = ping([bad])
    assert raw_check(items) == [(17, "icmp.replies[1].rtt_ms"), (39, "icmp.replies[0].rtt_ms")]


def test_reply_rtts_in_range_are_cleared_without_reading_the_replies() -> None:
    items = [ping([20.0, 21.5, 131_071.9], ttl=64) for _ in range(50)]
    raw = batch("b", items).SerializeToString()
    frame = frame_items(raw, max_items=100, max_item_bytes=65536, long_item_bytes=255, longer_item_bytes=2048)
    assert frame.items == 50 and frame.suspect_rtt == frozenset()
    assert raw_check(items) == []


def test_an_rtt_tag_spelled_as_an_overlong_varint_is_still_found() -> None:
    """0x99 0x00 is field 3, wire type 1 in two bytes; the decoder accepts it."""
    reply = b"\x99\x00" + struct.pack("<d", float("inf"))
    assert measurement_pb2.PingReply.FromString(reply).rtt_ms == float("inf")
    good = ping([1.0])
    icmp = b"\x22" + bytes([len(reply)]) + reply  # IcmpDetails.replies = 4
    item = good.SerializeToString() + b"\xa2\x01" + bytes([len(icmp)]) + icmp  # Measurement.icmp = 20
    assert measurement_pb2.Measurement.FromString(item).icmp.replies[1].rtt_ms == float("inf")
    assert 128 <= len(item) < 16384
    raw = b"\x12" + bytes([(len(item) & 0x7F) | 0x80, len(item) >> 7]) + item
    checked = check_raw_batch(raw, probe_id=PROBE, limits=ValidationLimits(), max_items=10, now_unix_s=NOW)
    assert [(r.index, r.field) for r in checked.rejections] == [(0, "icmp.replies[1].rtt_ms")]


@pytest.mark.parametrize(
    ("field", "value"),
    [("target.name", "n" * 256), ("probe_version", "v" * 256), ("failure.detail", "d" * 2049)],
)
def test_long_strings_are_found_in_items_just_over_the_threshold(field: str, value: str) -> None:
    items = [ping([1.0]) for _ in range(5)]
    parent, _, leaf = field.rpartition(".")
    setattr(getattr(items[2], parent) if parent else items[2], leaf, value)
    assert raw_check(items) == [(2, field)]


def test_the_walk_stops_at_the_item_limit() -> None:
    raw = b"\x12\x00" * 1000
    with pytest.raises(BatchRefused):
        check_raw_batch(raw, probe_id=PROBE, limits=ValidationLimits(), max_items=999, now_unix_s=NOW)
    frame = frame_items(raw, max_items=1000, max_item_bytes=200, long_item_bytes=200, longer_item_bytes=200)
    assert frame.items == 1000


def test_a_batch_of_rtt_lookalike_bytes_costs_one_search_per_item() -> None:
    """Bytes that match the candidate pattern everywhere flag items, they never allocate per match."""
    filler = b"\x19" + b"\xff" * 100
    raw = b"".join(b"\x12" + bytes([len(filler)]) + filler for _ in range(100))
    frame = frame_items(raw, max_items=100, max_item_bytes=200, long_item_bytes=200, longer_item_bytes=200)
    assert frame.suspect_rtt == frozenset(range(100))


def test_sizes_sort_items_into_long_longer_and_oversized() -> None:
    items = [ping([1.0]) for _ in range(4)]
    items[1].target.url = "https://example.org/" + "a" * 300
    items[2].failure.detail = "d" * 3000
    items[3].failure.detail = "d" * 70_000
    raw = batch("b", items).SerializeToString()
    frame = frame_items(raw, max_items=10, max_item_bytes=65536, long_item_bytes=255, longer_item_bytes=2048)
    assert (frame.long, frame.longer, frame.oversized) == ({1, 2, 3}, {2, 3}, {3})
    with pytest.raises(FrameError):
        frame_items(
            raw[:-70_005], max_items=10, max_item_bytes=65536, long_item_bytes=255, longer_item_bytes=2048
        )
