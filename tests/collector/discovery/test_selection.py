"""Selection: blocks shared out by prefix size, the K best addresses, hand-imported targets win."""

from __future__ import annotations

import ipaddress

from vantage.collector.asn.database import Ipv4Range
from vantage.collector.asn.ipnum import parse_ipv4
from vantage.collector.discovery.config import SelectionConfig
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.selection import (
    Ipv6Candidate,
    select_ipv6_targets,
    select_targets,
    target_changes,
)

AS = 64500


def ip(text: str) -> int:
    return parse_ipv4(text)


def history(block_text: str, bitmaps: dict[int, int]) -> tuple[int, BlockHistory]:
    block = ip(block_text) >> 8
    return block, BlockHistory(block, 9, tuple(h << 16 | b for h, b in sorted(bitmaps.items())))


def every_block(first: str, count: int, bitmaps: dict[int, int]) -> dict[int, BlockHistory]:
    start = ip(first) >> 8
    return {
        start + i: BlockHistory(start + i, 9, tuple(h << 16 | b for h, b in sorted(bitmaps.items())))
        for i in range(count)
    }


def test_blocks_are_shared_by_address_space() -> None:
    big = Ipv4Range(ip("11.0.0.0"), ip("11.0.11.255"), AS, "KZ")  # 12 /24s
    small = Ipv4Range(ip("12.0.0.0"), ip("12.0.3.255"), AS, "KZ")  # 4 /24s
    histories = every_block("11.0.0.0", 12, {1: 0xFFFF}) | every_block("12.0.0.0", 4, {1: 0xFFFF})
    chosen = select_targets(
        AS, [big, small], histories, SelectionConfig(max_blocks_per_as=4, targets_per_block=1)
    )
    from_big = sum(1 for t in chosen if t.address.startswith("11."))
    assert (from_big, len(chosen) - from_big) == (3, 1)  # 12:4 = 3:1
    # A prefix without responders gets none; its share goes to the others.
    dark = select_targets(
        AS,
        [big, small],
        every_block("12.0.0.0", 4, {1: 0xFFFF}),
        SelectionConfig(max_blocks_per_as=4, targets_per_block=1),
    )
    assert len(dark) == 4 and all(t.address.startswith("12.") for t in dark)


def test_k_best_addresses_per_block_above_min_score() -> None:
    prefix = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.255"), AS, "KZ")
    histories = dict([history("11.0.0.0", {1: 0b1, 2: 0xFFFF, 3: 0b11, 4: 0b10, 5: 0x7FFF})])
    chosen = select_targets(AS, [prefix], histories, SelectionConfig(targets_per_block=3, min_score=50))
    assert [(t.address, t.score) for t in chosen] == [("11.0.0.2", 99), ("11.0.0.5", 99), ("11.0.0.3", 74)]
    assert all(t.asn == AS and t.country == "KZ" and t.block == ip("11.0.0.0") >> 8 for t in chosen)
    none = select_targets(AS, [prefix], dict([history("11.0.0.0", {4: 0b10})]), SelectionConfig())
    assert none == ()  # answered only the census before last: score 25 < 50


def test_hand_imported_target_wins() -> None:
    prefix = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.255"), AS, "KZ")
    histories = dict([history("11.0.0.0", {1: 0xFFFF, 2: 0xFFFF, 3: 0b1})])
    chosen = select_targets(
        AS, [prefix], histories, SelectionConfig(targets_per_block=2), hand_imported={"11.0.0.1"}
    )
    assert [t.address for t in chosen] == ["11.0.0.2", "11.0.0.3"]


def test_only_addresses_of_the_prefix_count() -> None:
    half = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.127"), AS, "KZ")  # the other half is another AS's
    histories = dict([history("11.0.0.0", {200: 0xFFFF, 10: 0b1})])
    assert [t.address for t in select_targets(AS, [half], histories, SelectionConfig())] == ["11.0.0.10"]


def test_dead_targets_are_retired_and_replaced() -> None:
    prefix = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.255"), AS, "KZ")
    before = select_targets(
        AS, [prefix], dict([history("11.0.0.0", {1: 0xFFFF, 2: 0xFFFF, 3: 0xFFFE})]), SelectionConfig()
    )
    assert [t.address for t in before] == ["11.0.0.1", "11.0.0.2"]
    current = {t.address for t in before}
    # .1 went silent for three censuses: it falls below min_score and .3 takes its place.
    after = select_targets(
        AS,
        [prefix],
        dict([history("11.0.0.0", {1: 0xFFF8, 2: 0xFFFF, 3: 0xFFFF})]),
        SelectionConfig(),
        current=current,
    )
    changes = target_changes(current, after)
    assert [t.address for t in changes.add] == ["11.0.0.3"]
    assert changes.retire == ("11.0.0.1",) and changes.keep == ("11.0.0.2",)


def test_ties_prefer_targets_in_use_and_are_deterministic() -> None:
    prefix = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.255"), AS, "KZ")
    histories = dict([history("11.0.0.0", {h: 0xFFFF for h in range(1, 20)})])
    config = SelectionConfig(targets_per_block=1)
    first = select_targets(AS, [prefix], histories, config)
    assert first == select_targets(AS, [prefix], histories, config)
    sticky = select_targets(AS, [prefix], histories, config, current={"11.0.0.17"})
    assert [t.address for t in sticky] == ["11.0.0.17"]


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


def test_ipv6_hitlist_addresses_become_targets_in_the_most_listed_48s() -> None:
    listed = [
        *(Ipv6Candidate(v6(f"2001:db8:1::{n:x}"), 64500, "KZ") for n in range(1, 6)),  # 5 in one /48
        *(Ipv6Candidate(v6(f"2001:db8:2::{n:x}"), 64500, "KZ") for n in range(1, 4)),  # 3
        Ipv6Candidate(v6("2001:db8:3::1"), 64500, "KZ"),  # 1: the AS's third /48, over M = 2
        Ipv6Candidate(v6("2001:db8:9::1"), 64501, "KZ"),  # another AS
        Ipv6Candidate(v6("2001:db8:8::1"), 0, ""),  # no AS: no target
    ]
    config = SelectionConfig(max_blocks_per_as=2, targets_per_block=2)
    chosen = select_ipv6_targets(listed, config, hand_imported={v6("2001:db8:9::1")})
    by_block: dict[int, list[int]] = {}
    for target in chosen:
        assert target.block == target.address >> 80 and target.asn == 64500 and target.country == "KZ"
        by_block.setdefault(target.block, []).append(target.address)
    assert sorted(by_block) == [v6("2001:db8:1::") >> 80, v6("2001:db8:2::") >> 80]
    assert all(len(addresses) == 2 for addresses in by_block.values())
    assert chosen == select_ipv6_targets(list(reversed(listed)), config, hand_imported={v6("2001:db8:9::1")})


def test_targets_are_not_retired_while_their_as_is_not_up() -> None:
    prefix = Ipv4Range(ip("11.0.0.0"), ip("11.0.0.255"), AS, "KZ")
    current = {"11.0.0.1", "11.0.0.2"}
    # The shutdown: both targets silent for three censuses; .3 (unaffected) still answers.
    during = select_targets(
        AS, [prefix], dict([history("11.0.0.0", {1: 0xFFF8, 2: 0xFFF8, 3: 0xFFFF})]), SelectionConfig(),
        current=current,
    )  # fmt: skip
    held = target_changes(current, during, retire=False)
    assert held.retire == () and held.keep == ("11.0.0.1", "11.0.0.2")
    assert [t.address for t in held.add] == ["11.0.0.3"]
    assert target_changes(current, during).retire == ("11.0.0.1", "11.0.0.2")  # the AS is UP: retired
