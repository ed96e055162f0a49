"""From responders to reachability targets: per AS, up to M blocks, in each the K best addresses.

`select_targets` takes an AS's prefixes (its IPv4 ranges in the datasets) and the block
histories, and returns the addresses to measure:

1. candidates: in each block of each prefix, the addresses of the prefix scoring at least
   `min_score` (history.score), except addresses a hand-imported target already measures (a
   hand-imported target always wins: the discovered one is simply not made);
2. blocks are shared out among prefixes in proportion to their address space by the D'Hondt
   method (the next block goes to the prefix with the largest size / (blocks it has + 1)), so a
   /16 gets about 256 times the blocks of a /24, and a prefix without candidates none;
3. within a prefix, the blocks with the best K scores first (sum of their top K), then in each
   chosen block its K best addresses. Ties go to addresses already in use (no churn for nothing),
   then to a stable hash.

Retiring: `target_changes` compares with the AS's current discovered targets: those no longer
selected (dead, or outscored) are retired, new ones added. Not while the AS itself is judged
anything but UP (`retire=False`): a block that goes dark at the same time as its AS is DOWN,
DEGRADED, FILTERED or UNKNOWN is what the monitoring is there to see, not a dead target, and
retiring the targets of a shutdown would end its detection (their replacements could only be
addresses that still answer). New targets are still added then, so an AS whose targets really
died recovers as soon as some of its new ones answer and the verdict says UP again.

IPv6 (`select_ipv6_targets`): an IPv6 hitlist lists addresses that answered when it was made,
with no history and no census of ours behind them (IPv6 space cannot be censused: a /64 alone
has 2^64 addresses), so per AS the /48s with the most listed addresses come first (up to M),
in each K of its addresses by a stable hash, and nothing is retired by a census: they stay
targets until the operator removes them or a later import replaces them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from vantage.collector.asn.database import Ipv4Range
from vantage.collector.assignment.rendezvous import pair_weight
from vantage.collector.discovery.config import SelectionConfig
from vantage.collector.discovery.history import BlockHistory, score
from vantage.collector.discovery.space import dotted

_TIE_SALT = 0x5E1EC7
# (-score, 0 if already a target else 1, tie hash, address text)
_Candidate = tuple[int, int, int, str]
# (-(sum of its best K scores), tie hash, block, country, its best K candidates)
_Block = tuple[int, int, int, str, list[_Candidate]]


@dataclass(frozen=True, slots=True)
class SelectedTarget:
    address: str  # dotted quad
    block: int
    asn: int
    country: str
    score: int  # 0..99


@dataclass(frozen=True, slots=True)
class Ipv6Candidate:
    """A listed IPv6 address and where the datasets place it."""

    address: int
    asn: int
    country: str


@dataclass(frozen=True, slots=True)
class SelectedIpv6Target:
    address: int
    block: int  # the /48: address >> 80
    asn: int
    country: str


@dataclass(frozen=True, slots=True)
class TargetChanges:
    add: tuple[SelectedTarget, ...]
    retire: tuple[str, ...]  # addresses of current discovered targets to remove
    keep: tuple[str, ...]


def select_targets(
    asn: int,
    prefixes: Sequence[Ipv4Range],
    histories: Mapping[int, BlockHistory],
    config: SelectionConfig,
    *,
    hand_imported: Collection[str] = frozenset(),
    current: Collection[str] = frozenset(),
) -> tuple[SelectedTarget, ...]:
    """The AS's discovered reachability targets (module docstring), best block first."""
    k = config.targets_per_block
    per_prefix: list[tuple[int, list[_Block]]] = []
    for prefix in prefixes:
        blocks: list[_Block] = []
        for block, history in _histories_in(prefix, histories):
            candidates: list[_Candidate] = []
            for packed in history.responses:
                address = block << 8 | packed >> 16
                if not prefix.first <= address <= prefix.last:
                    continue
                value = score(packed & 0xFFFF)
                if value < config.min_score:
                    continue
                text = dotted(address)
                if text in hand_imported:
                    continue
                candidates.append(
                    (-value, 0 if text in current else 1, pair_weight(_TIE_SALT, address), text)
                )
            if candidates:
                best = sorted(candidates)[:k]
                blocks.append(
                    (sum(c[0] for c in best), pair_weight(_TIE_SALT, block), block, prefix.country, best)
                )
        if blocks:
            blocks.sort()
            per_prefix.append((prefix.size, blocks))
    taken = [0] * len(per_prefix)
    for _ in range(config.max_blocks_per_as):  # D'Hondt: size / (seats + 1), first prefix on ties
        best_index, best_quota = -1, 0.0
        for index, (size, blocks) in enumerate(per_prefix):
            if taken[index] < len(blocks) and size / (taken[index] + 1) > best_quota:
                best_index, best_quota = index, size / (taken[index] + 1)
        if best_index < 0:
            break
        taken[best_index] += 1
    picked = sorted(
        item for (_, blocks), count in zip(per_prefix, taken, strict=True) for item in blocks[:count]
    )
    return tuple(
        SelectedTarget(text, block, asn, country, -negative_score)
        for _, _, block, country, best in picked
        for negative_score, _, _, text in best
    )


def select_ipv6_targets(
    candidates: Sequence[Ipv6Candidate],
    config: SelectionConfig,
    *,
    hand_imported: Collection[int] = frozenset(),
) -> tuple[SelectedIpv6Target, ...]:
    """Per AS, up to M /48s with the most listed addresses, K addresses each (module docstring);
    addresses of no AS and those a hand-imported target measures are left out."""
    by_block: dict[tuple[int, int], list[Ipv6Candidate]] = {}
    for candidate in candidates:
        if candidate.asn and candidate.address not in hand_imported:
            by_block.setdefault((candidate.asn, candidate.address >> 80), []).append(candidate)
    per_as: dict[int, list[tuple[int, int, int]]] = {}
    for (asn, block), listed in by_block.items():
        per_as.setdefault(asn, []).append(
            (-len({c.address for c in listed}), pair_weight(_TIE_SALT, block), block)
        )
    chosen: list[SelectedIpv6Target] = []
    for asn in sorted(per_as):
        for _, _, block in sorted(per_as[asn])[: config.max_blocks_per_as]:
            in_block = {c.address: c for c in by_block[(asn, block)]}
            ranked = sorted(in_block, key=lambda address: (_ipv6_tie(address), address))
            chosen.extend(
                SelectedIpv6Target(address, block, asn, in_block[address].country)
                for address in ranked[: config.targets_per_block]
            )
    return tuple(chosen)


def _ipv6_tie(address: int) -> int:
    return pair_weight(_TIE_SALT ^ (address >> 64), address & ((1 << 64) - 1))


def target_changes(
    current: Collection[str], selected: Sequence[SelectedTarget], *, retire: bool = True
) -> TargetChanges:
    """What to add and retire so that the AS's discovered targets become `selected`; with
    `retire=False` (the AS is not UP: module docstring) nothing current is retired."""
    wanted = {target.address for target in selected}
    kept = current if not retire else [address for address in current if address in wanted]
    return TargetChanges(
        add=tuple(target for target in selected if target.address not in current),
        retire=tuple(sorted(address for address in current if address not in wanted)) if retire else (),
        keep=tuple(sorted(kept)),
    )


def _histories_in(prefix: Ipv4Range, histories: Mapping[int, BlockHistory]) -> list[tuple[int, BlockHistory]]:
    first_block, last_block = prefix.first >> 8, prefix.last >> 8
    if last_block - first_block + 1 <= len(histories):
        found = []
        for block in range(first_block, last_block + 1):
            history = histories.get(block)
            if history is not None:
                found.append((block, history))
        return found
    return sorted((b, h) for b, h in histories.items() if first_block <= b <= last_block)
