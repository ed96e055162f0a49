"""Per-block response history and the score of an address, ISI hitlist style.

Each address has a 16-bit bitmap over the last 16 census epochs of its block: bit 0 is the latest
census, a 1 means it answered an ICMP echo in that census (ISI's Internet address history keeps
the same 1-bit-per-census record; Heidemann et al., "Census and Survey of the Visible Internet",
IMC 2008). A block's history is its 256 bitmaps plus the epoch they were last shifted to.

In memory only answering addresses are kept (`responses`: sorted `host << 16 | bitmap` ints, the
bitmaps that are not 0): a hitlist of a million blocks holds a few responders per block, and 256
bitmaps each would cost 2 KB a block. Storage keeps the contract's blob, 256 little-endian uint16
(512 bytes), via `to_blob` / `from_blob`.

Which hosts have had a census result at all (`censused`, a 256-bit mask, bit h = host h): a
block's first census is complete when every host it asks has a result, answered or not
(census.py re-asks the others; campaigns.py counts blocks done from it). A new block starts
with none (`empty`); every probed host of `apply_results` sets its bit. While some bit is
missing the blob carries the mask as 32 more bytes (little-endian) after the bitmaps; a
512-byte blob, as every history had before the mask existed and as a hitlist import makes,
stands for a block whose every host has been censused.

Shifting: results for epoch e on a history at epoch h < e shift every bitmap left by e - h first
(the censuses between were not answered, as far as we know: ISI's history records a 0 for a
census with no reply), then set bit 0 for each answering address. Results for the history's own
epoch OR into bit 0 (a census spans many rounds); results for an older epoch within the last 16
set that census's bit; older ones are dropped.

Score (0..99), how likely the address answers now: the bitmap read with the latest census as the
most significant bit, scaled to 0..99, so each census outweighs all older ones together:
score = round(99 * reverse16(bitmap) / 65535). Answered only the latest census -> 50; the latest
two -> 74; all 16 -> 99; never -> 0. ISI's hitlist (Fan & Heidemann, "Selecting representative IP
addresses for Internet topology studies", IMC 2010) also scores 0..99 from the last 16 censuses,
weighting recent ones more; ours is the simplest such weighting, monotonic in every answer.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

HISTORY_CENSUSES = 16
_BITMAP_MASK = (1 << HISTORY_CENSUSES) - 1
BLOB_BYTES = 2 * 256
CENSUSED_BYTES = 256 // 8  # the mask's tail while the first census is incomplete
ALL_CENSUSED = (1 << 256) - 1
_REVERSED_BYTE = [int(f"{value:08b}"[::-1], 2) for value in range(256)]


@dataclass(frozen=True, slots=True)
class BlockHistory:
    block: int  # network_int >> 8
    epoch: int  # the census epoch bit 0 stands for
    responses: tuple[int, ...] = ()  # sorted (host << 16) | bitmap, bitmap != 0
    censused: int = ALL_CENSUSED  # bit h: host h has had a census result (module docstring)

    @classmethod
    def empty(cls, block: int, epoch: int) -> BlockHistory:
        """A block no census has reached yet: no responder, no host censused."""
        return cls(block, epoch, (), 0)

    def was_censused(self, host: int) -> bool:
        return bool(self.censused >> host & 1)

    def bitmap(self, host: int) -> int:
        """The 16-bit history of host offset `host` (0 = never answered in the last 16 censuses)."""
        for packed in self.responses:
            if packed >> 16 == host:
                return packed & _BITMAP_MASK
        return 0

    def bitmaps(self) -> dict[int, int]:
        """host offset -> bitmap, for the hosts that answered at least once in the last 16 censuses."""
        return {packed >> 16: packed & _BITMAP_MASK for packed in self.responses}

    def responders(self) -> tuple[int, ...]:
        """Host offsets that answered at least once in the last 16 censuses, ascending."""
        return tuple(packed >> 16 for packed in self.responses)

    def to_blob(self) -> bytes:
        """256 little-endian uint16 bitmaps (512 bytes), host 0 first: the storage form; then the
        censused mask (32 bytes) while some host has no census result yet."""
        values = array("H", bytes(BLOB_BYTES))
        for packed in self.responses:
            values[packed >> 16] = packed & _BITMAP_MASK
        if sys.byteorder == "big":  # pragma: no cover - x86 and ARM are little-endian
            values.byteswap()
        if self.censused == ALL_CENSUSED:
            return values.tobytes()
        return values.tobytes() + self.censused.to_bytes(CENSUSED_BYTES, "little")

    @classmethod
    def from_blob(cls, block: int, epoch: int, blob: bytes) -> BlockHistory:
        """Inverse of to_blob; ValueError when the blob is neither 512 nor 544 bytes."""
        if len(blob) not in (BLOB_BYTES, BLOB_BYTES + CENSUSED_BYTES):
            raise ValueError(
                f"block history blob of {block}: {len(blob)} bytes, expected {BLOB_BYTES} "
                f"or {BLOB_BYTES + CENSUSED_BYTES}"
            )
        values = array("H")
        values.frombytes(blob[:BLOB_BYTES])
        if sys.byteorder == "big":  # pragma: no cover
            values.byteswap()
        censused = int.from_bytes(blob[BLOB_BYTES:], "little") if len(blob) > BLOB_BYTES else ALL_CENSUSED
        responses = tuple(host << 16 | bits for host, bits in enumerate(values) if bits)
        return cls(block, epoch, responses, censused)


def shifted(history: BlockHistory, epoch: int) -> BlockHistory:
    """The history moved to `epoch` (later or equal): each bitmap shifted by the censuses between."""
    steps = epoch - history.epoch
    if steps < 0:
        raise ValueError(
            f"cannot shift history of block {history.block} back from {history.epoch} to {epoch}"
        )
    if steps == 0:
        return history
    if steps >= HISTORY_CENSUSES:
        return BlockHistory(history.block, epoch, (), history.censused)
    kept = []
    for packed in history.responses:
        bits = ((packed & _BITMAP_MASK) << steps) & _BITMAP_MASK
        if bits:
            kept.append((packed >> 16) << 16 | bits)
    return BlockHistory(history.block, epoch, tuple(kept), history.censused)


def apply_results(
    history: BlockHistory, epoch: int, answered: Iterable[int], probed: Iterable[int]
) -> BlockHistory:
    """The history after a round's discovery results for census `epoch` of this block.

    answered / probed: addresses (integers) of this block; every answered address must have been
    probed (ValueError otherwise, and for addresses outside the block). Probed addresses that did
    not answer keep a 0 for this census; every probed host counts as censused. See the module
    docstring for epochs other than the latest.
    """
    probed_hosts = _hosts(history.block, probed)
    answered_hosts = _hosts(history.block, answered)
    if not answered_hosts <= probed_hosts:
        stray = min(answered_hosts - probed_hosts)
        raise ValueError(f"block {history.block}: host {stray} answered but was not probed")
    censused = history.censused
    for host in probed_hosts:
        censused |= 1 << host
    if censused != history.censused:
        history = BlockHistory(history.block, history.epoch, history.responses, censused)
    if epoch >= history.epoch:
        current = shifted(history, epoch)
        bit = 1
    elif history.epoch - epoch < HISTORY_CENSUSES:
        current = history
        bit = 1 << (history.epoch - epoch)
    else:
        return history  # results of a census that has left the 16-census window
    if not answered_hosts:
        return current
    bitmaps = current.bitmaps()
    for host in answered_hosts:
        bitmaps[host] = bitmaps.get(host, 0) | bit
    responses = tuple(h << 16 | b for h, b in sorted(bitmaps.items()))
    return BlockHistory(current.block, current.epoch, responses, current.censused)


def score(bitmap: int) -> int:
    """0..99: how likely the address answers now, from its 16-census bitmap (module docstring)."""
    bitmap &= _BITMAP_MASK
    reversed_bits = _REVERSED_BYTE[bitmap & 255] << 8 | _REVERSED_BYTE[bitmap >> 8]
    return (99 * reversed_bits + 32767) // 65535


def _hosts(block: int, addresses: Iterable[int]) -> set[int]:
    hosts = set()
    for address in addresses:
        if address >> 8 != block:
            raise ValueError(f"address {address} is not in block {block}")
        hosts.add(address & 255)
    return hosts
