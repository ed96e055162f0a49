"""Hitlist parsers: ISI/ANT IPv4 histories and IPv6 lists; bad lines named, good lines kept."""

from __future__ import annotations

from vantage.collector.asn.ipnum import parse_ipv4, parse_ipv6
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.hitlist import (
    HitlistEntry,
    hitlist_histories,
    parse_ipv6_hitlist,
    parse_isi_hitlist,
)

ISI = """\
#fsdb -F t hex_ip history score
c0000201\t1\t50
c0000202\t0000ffff\t99
# a comment line
c00002\t1\t50
c0000203\tzz\t50
c0000204\t1\tninety
c0000205\t1\t120
c0000206\t1
cb007101\t3\t74
c0000207\t10003\t74
"""


def test_isi_good_lines_kept_bad_lines_named() -> None:
    parsed = parse_isi_hitlist(ISI.splitlines(keepends=True))
    assert parsed.entries == (
        HitlistEntry(parse_ipv4("192.0.2.1"), 0b1, 50),
        HitlistEntry(parse_ipv4("192.0.2.2"), 0xFFFF, 99),
        HitlistEntry(parse_ipv4("203.0.113.1"), 0b11, 74),
        HitlistEntry(parse_ipv4("192.0.2.7"), 0b11, 74),  # longer histories: the latest 16 censuses
    )
    assert [(e.line_number, e.message.split(" ")[0]) for e in parsed.errors] == [
        (5, "hex_ip"),
        (6, "history"),
        (7, "score"),
        (8, "score"),
        (9, "expected"),
    ]
    assert str(parsed.errors[0]) == "line 5: hex_ip 'c00002' is not 8 hex digits"


def test_isi_header_gives_the_column_order() -> None:
    parsed = parse_isi_hitlist(["#fsdb -F t score hex_ip history\n", "99\tc6336407\tffff\n"])
    assert parsed.entries == (HitlistEntry(parse_ipv4("198.51.100.7"), 0xFFFF, 99),)
    bad = parse_isi_hitlist(["#fsdb -F t hex_ip score\n", "c6336407\t99\n"])
    assert bad.errors[0].line_number == 1 and "history" in bad.errors[0].message


def test_ipv6_hitlist() -> None:
    parsed = parse_ipv6_hitlist(
        ["# comment\n", "2001:db8:1::1\n", "\n", "not-an-address\n", "2001:DB8:1:2::9  # x\n", "192.0.2.1\n"]
    )
    assert [(e.address, e.block) for e in parsed.entries] == [
        (parse_ipv6("2001:db8:1::1"), "2001:db8:1::/48"),
        (parse_ipv6("2001:db8:1:2::9"), "2001:db8:1::/48"),
    ]
    assert [e.line_number for e in parsed.errors] == [4, 6]


def test_hitlist_feeds_block_histories() -> None:
    parsed = parse_isi_hitlist(ISI.splitlines())
    histories = hitlist_histories(parsed.entries, epoch=100, min_score=60)
    block = parse_ipv4("192.0.2.0") >> 8
    assert set(histories) == {block, parse_ipv4("203.0.113.0") >> 8}
    assert histories[block].bitmaps() == {2: 0xFFFF, 7: 0b11}  # score 50 below --min-score 60
    # Merging into a newer history keeps its epoch and lines the hitlist's bits up.
    existing = {block: BlockHistory(block, 102, (9 << 16 | 0b1,))}
    merged = hitlist_histories(parsed.entries, epoch=100, min_score=0, existing=existing)
    assert merged[block].epoch == 102
    assert merged[block].bitmap(9) == 0b1
    assert merged[block].bitmap(1) == 0b100
    # ... and an older history is shifted to the hitlist's epoch.
    older = {block: BlockHistory(block, 99, (9 << 16 | 0b1,))}
    assert hitlist_histories(parsed.entries, epoch=100, existing=older)[block].bitmap(9) == 0b10
