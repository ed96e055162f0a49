"""Block histories: shifting across epochs (skipped ones too), merging rounds, the blob, the score."""

from __future__ import annotations

import pytest

from vantage.collector.discovery.history import (
    ALL_CENSUSED,
    BLOB_BYTES,
    BlockHistory,
    apply_results,
    score,
    shifted,
)

BLOCK = (198 << 16) | (51 << 8) | 100


def addr(host: int) -> int:
    return BLOCK << 8 | host


def test_a_census_sets_bit_zero_for_answers_only() -> None:
    history = apply_results(BlockHistory.empty(BLOCK, 10), 10, {addr(1)}, {addr(1), addr(2)})
    assert history.bitmap(1) == 0b1
    assert history.bitmap(2) == 0
    assert history.responders() == (1,)


@pytest.mark.parametrize(
    ("start_bits", "from_epoch", "to_epoch", "expected"),
    [
        (0b1, 10, 11, 0b11),  # the next census: shifted by one, answered again
        (0b1, 10, 13, 0b1001),  # two censuses skipped (collector down): zeros for them
        (0b1011, 10, 10, 0b1011),  # same census, a later round: OR into bit 0
        (0b1, 10, 25, 0b1000000000000001),  # 15 later: the old answer is the 16th bit
        (0b1, 10, 26, 0b1),  # 16 later: the old answer has left the window
        (0xFFFF, 10, 40, 0b1),
    ],
)
def test_shifting_across_epochs(start_bits: int, from_epoch: int, to_epoch: int, expected: int) -> None:
    history = BlockHistory(BLOCK, from_epoch, (7 << 16 | start_bits,))
    after = apply_results(history, to_epoch, {addr(7)}, {addr(7)})
    assert after.epoch == to_epoch
    assert after.bitmap(7) == expected


def test_silence_shifts_answers_away() -> None:
    history = BlockHistory(BLOCK, 1, (3 << 16 | 0b1,))
    assert apply_results(history, 3, set(), {addr(3)}).bitmap(3) == 0b100
    assert shifted(history, 17).responses == ()
    with pytest.raises(ValueError, match="cannot shift"):
        shifted(history, 0)


def test_late_results_of_an_older_census_set_its_bit() -> None:
    history = BlockHistory(BLOCK, 12, (5 << 16 | 0b1,))
    after = apply_results(history, 10, {addr(9)}, {addr(9)})
    assert after.epoch == 12 and after.bitmap(9) == 0b100 and after.bitmap(5) == 0b1
    assert apply_results(history, 12 - 16, {addr(9)}, {addr(9)}) == history


def test_results_are_checked() -> None:
    empty = BlockHistory.empty(BLOCK, 0)
    with pytest.raises(ValueError, match="answered but was not probed"):
        apply_results(empty, 0, {addr(1)}, {addr(2)})
    with pytest.raises(ValueError, match="not in block"):
        apply_results(empty, 0, set(), {(BLOCK + 1) << 8})


def test_blob_round_trip_is_512_little_endian_uint16() -> None:
    history = BlockHistory(BLOCK, 4, (0 << 16 | 0x0102, 255 << 16 | 0xFFFF))
    blob = history.to_blob()
    assert len(blob) == BLOB_BYTES == 512
    assert blob[0:2] == b"\x02\x01" and blob[510:512] == b"\xff\xff" and blob[2:510] == bytes(508)
    assert BlockHistory.from_blob(BLOCK, 4, blob) == history
    with pytest.raises(ValueError, match="511 bytes"):
        BlockHistory.from_blob(BLOCK, 4, blob[:-1])


@pytest.mark.parametrize(
    ("bitmap", "expected"),
    [(0, 0), (0b1, 50), (0b11, 74), (0xFFFF, 99), (0b10, 25), (0x8000, 0), (0b111, 87)],
)
def test_score_table(bitmap: int, expected: int) -> None:
    assert score(bitmap) == expected


def test_score_is_monotonic_in_answers_and_recency() -> None:
    for bitmap in range(1 << 16):
        value = score(bitmap)
        assert 0 <= value <= 99
        for bit in range(16):
            if not bitmap >> bit & 1:
                assert score(bitmap | 1 << bit) >= value  # one more answer never lowers it
        if bitmap & 1 == 0 and bitmap:
            # the latest census outweighs all older ones together
            assert score(0b1) >= score(bitmap)


def test_the_censused_mask_travels_in_the_blob_until_every_host_has_a_result() -> None:
    history = apply_results(
        BlockHistory.empty(BLOCK, 4), 4, [BLOCK << 8 | 9], [BLOCK << 8 | 9, BLOCK << 8 | 200]
    )
    assert history.was_censused(9) and history.was_censused(200) and not history.was_censused(10)
    blob = history.to_blob()
    assert len(blob) == BLOB_BYTES + 32
    assert BlockHistory.from_blob(BLOCK, 4, blob) == history
    everything = apply_results(history, 5, [], [BLOCK << 8 | host for host in range(256)])
    assert len(everything.to_blob()) == BLOB_BYTES  # complete: the form of every older history
    assert BlockHistory.from_blob(BLOCK, 5, everything.to_blob()) == everything
    assert BlockHistory.from_blob(BLOCK, 5, bytes(BLOB_BYTES)).censused == ALL_CENSUSED
    with pytest.raises(ValueError, match="544"):
        BlockHistory.from_blob(BLOCK, 4, blob[:-1])
