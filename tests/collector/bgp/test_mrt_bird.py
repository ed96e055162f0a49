"""MRT written by a real BIRD 2 (`protocol mrt`, TABLE_DUMP_V2) in a namespace pair, replayed
by the mrt: source into the routing table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.collector.bgp.netns_bird import (
    OTHER_ASN,
    OWNER_PREFIXES,
    PEER_ADDRESS,
    PEER_ASN,
    ROUTER_ADDRESS,
    ROUTER_ASN,
    bird_pair,
    wait_for,
)
from vantage.collector.bgp.feeds import BgpFeeds
from vantage.collector.bgp.model import RoutingState
from vantage.collector.bgp.mrt_files import read_mrt
from vantage.collector.bgp.parse_error import ParseError
from vantage.collector.bgp.sources import MrtSource

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def dumper_config(directory: Path) -> str:
    return f"""router id {PEER_ADDRESS};
protocol device {{}}
protocol bgp upstream {{
    local {PEER_ADDRESS} as {PEER_ASN}; neighbor {ROUTER_ADDRESS} as {ROUTER_ASN};
    ipv4 {{ import all; export none; }};
}}
protocol mrt dumps {{ table "master4"; filename "{directory}/rib-%s.mrt"; period 1; }}
"""


def test_bird_table_dump_replayed(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    with bird_pair(tmp_path) as pair:
        pair.start_bird("dumper", pair.peer_ns, dumper_config(dumps))

        def complete_dump() -> bool:
            # BIRD writes one file per second; a file followed by another is complete.
            files = sorted(dumps.glob("rib-*.mrt"))
            return len(files) >= 2 and _route_count(files[-2]) == 3

        wait_for(complete_dump, "a BIRD table dump with the router's 3 routes")
        dump = sorted(dumps.glob("rib-*.mrt"))[-2]
    updates = [u for m in read_mrt(dump) if not isinstance(m, ParseError) for u in m.updates]
    assert {(u.prefix, u.origin_asn, u.peer) for u in updates} == {
        *((prefix, ROUTER_ASN, ROUTER_ADDRESS) for prefix in OWNER_PREFIXES),
        ("198.18.200.0/24", OTHER_ASN, ROUTER_ADDRESS),
    }
    feeds = BgpFeeds([MrtSource((dump,))])

    async def replay() -> None:
        await feeds.start()
        while not feeds.figures().statuses[0].table_loaded:
            await asyncio.sleep(0.01)
        await feeds.stop()

    asyncio.run(asyncio.wait_for(replay(), 30))
    owner = feeds.snapshot(1_800_000_000.0)[ROUTER_ASN]
    assert owner.state is RoutingState.VISIBLE and owner.visible_prefixes == 2
    assert feeds.figures().parsed["mrt"] >= 4  # the peer index table and 3 RIB records


def _route_count(path: Path) -> int:
    try:
        return sum(len(m.updates) for m in read_mrt(path) if not isinstance(m, ParseError))
    except Exception:  # a file BIRD is still writing
        return -1
