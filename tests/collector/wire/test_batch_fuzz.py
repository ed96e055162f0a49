"""Fuzz over batch framing, decoding and validation (hypothesis; bounded here, longer with
VANTAGE_FUZZ_EXAMPLES=100000 python -m pytest tests/collector/wire/test_batch_fuzz.py).

Whatever the bytes, ingest's CPU half either refuses the whole batch with a gRPC code
(BatchRefused) or accounts for every item: accepted + rejected = items, and no exception
of any other kind escapes (issue 19).
"""

from __future__ import annotations

import os

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector.factories import batch, measurement
from vantage.collector.service.ingest import BatchRefused, check_raw_batch
from vantage.collector.wire.validation import ValidationLimits

PROBE = "00000000-0000-4000-8000-00000000000a"
NOW = 1_767_600_000.0
SETTINGS = settings(
    max_examples=int(os.environ.get("VANTAGE_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(raw: bytes, max_items: int = 50) -> None:
    try:
        checked = check_raw_batch(
            raw, probe_id=PROBE, limits=ValidationLimits(), max_items=max_items, now_unix_s=NOW
        )
    except BatchRefused as refused:
        assert refused.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
        return
    indexes = sorted(r.index for r in checked.rejections)
    assert len(set(indexes)) == len(indexes)
    assert len(checked.measurement_ids) == 16 * checked.items


@SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


def _valid_batch_bytes() -> bytes:
    items = [measurement(PROBE, started_at=NOW - 10) for _ in range(5)]
    items[1].icmp.avg_rtt_ms = float("inf")
    items[2].target.address = "::1%" + "z" * 80
    return batch("fuzz", items).SerializeToString()


VALID = _valid_batch_bytes()


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8))
def test_mutated_valid_batches(flips: list[tuple[int, int]]) -> None:
    raw = bytearray(VALID)
    for offset, value in flips:
        raw[offset] = value
    check(bytes(raw))


@SETTINGS
@given(st.integers(0, 200), st.integers(1, 100))
def test_item_counts_around_the_limit(count: int, limit: int) -> None:
    raw = b"\x12\x00" * count
    try:
        check_raw_batch(raw, probe_id=PROBE, limits=ValidationLimits(), max_items=limit, now_unix_s=NOW)
    except BatchRefused as refused:
        assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED and count > limit
    else:
        assert count <= limit
