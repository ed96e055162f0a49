"""A real ExaBGP peering with a real BIRD across a veth pair; its JSON goes through the relay
(relay.py) into the collector's socket (feeds.py) and the routing table: BIRD announces, then
withdraws a prefix set, then ExaBGP stops and the routing signal becomes UNKNOWN."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.bgp.netns_bird import (
    OTHER_ASN,
    PEER_ADDRESS,
    PEER_ASN,
    ROUTER_ADDRESS,
    ROUTER_ASN,
    bird_pair,
    wait_for,
)
from vantage.collector.bgp.feeds import BgpFeeds
from vantage.collector.bgp.model import RoutingState
from vantage.collector.bgp.sources import ExabgpSource

pytestmark = [pytest.mark.netns, pytest.mark.slow]
T0 = 1_800_000_000.0


def exabgp_programs() -> list[str]:
    found = [str(Path(sys.executable).parent / "exabgp")]  # PyPI's, 5.x (the lab extra)
    if os.path.exists("/usr/sbin/exabgp"):
        found.append("/usr/sbin/exabgp")  # Debian's, 4.2
    return [program for program in found if shutil.which(program)]


def exabgp_config(socket_path: Path) -> str:
    relay = f"{sys.executable} -m vantage.collector.bgp.relay {socket_path}"
    return f"""process vantage {{
    run {relay};
    encoder json;
}}
neighbor {ROUTER_ADDRESS} {{
    router-id {PEER_ADDRESS};
    local-address {PEER_ADDRESS};
    local-as {PEER_ASN};
    peer-as {ROUTER_ASN};
    family {{ ipv4 unicast; }}
    api {{
        processes [ vantage ];
        receive {{ parsed; update; }}
        neighbor-changes;
    }}
}}
"""


class LoopThread:
    """The collector's side: BgpFeeds on an asyncio loop of its own thread."""

    def __init__(self, feeds: BgpFeeds) -> None:
        self.feeds = feeds
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(feeds.start(), self.loop).result(timeout=10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.feeds.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[BgpFeeds, Path]]:
    socket_path = tmp_path / "exabgp.sock"
    feeds = BgpFeeds([ExabgpSource(socket_path)])
    running = LoopThread(feeds)
    try:
        yield feeds, socket_path
    finally:
        running.close()


@pytest.mark.parametrize("program", exabgp_programs())
def test_announce_withdraw_disconnect(program: str, tmp_path: Path, collector: tuple[BgpFeeds, Path]) -> None:
    feeds, socket_path = collector
    with bird_pair(tmp_path) as pair:
        config = tmp_path / "exabgp.conf"
        config.write_text(exabgp_config(socket_path), encoding="utf-8")
        env = {
            **os.environ,
            "exabgp_daemon_user": "root",  # no privilege drop: the relay writes our socket
            "exabgp_daemon_daemonize": "false",
            "exabgp_log_destination": "stderr",
        }
        log = (tmp_path / "exabgp.log").open("wb")
        exabgp = subprocess.Popen(
            ["ip", "netns", "exec", pair.peer_ns, program, str(config)], env=env, stdout=log, stderr=log
        )
        try:
            wait_for(lambda: _routes(feeds) == 3, "the router's 3 routes in the table")
            first = feeds.snapshot(T0)
            owner = first[ROUTER_ASN]
            assert owner.state is RoutingState.VISIBLE and owner.visible_prefixes == 2
            assert owner.visible_addresses == 512 and owner.full_feed_peers == 1
            assert first[OTHER_ASN].visible_prefixes == 1  # origin from the prepended path

            pair.birdc("disable", "owned")  # BIRD withdraws the owner's two prefixes
            wait_for(lambda: _routes(feeds) == 1, "the withdrawal of the owner's prefixes")
            withdrawn = feeds.snapshot(T0 + 300)
            assert withdrawn[ROUTER_ASN].state is RoutingState.WITHDRAWN
            assert withdrawn[ROUTER_ASN].baseline_prefixes == 2
            assert withdrawn[OTHER_ASN].state is RoutingState.VISIBLE

            pair.birdc("enable", "owned")
            wait_for(lambda: _routes(feeds) == 3, "the re-announcement")
            assert feeds.snapshot(T0 + 600)[ROUTER_ASN].state is RoutingState.VISIBLE
        finally:
            exabgp.terminate()
            exabgp.wait(timeout=30)
            log.close()
        # ExaBGP gone: the relay's stdin closes, it exits, the socket closes.
        wait_for(lambda: not feeds.figures().statuses[0].connected, "the feed's disconnection")
        down = feeds.snapshot(T0 + 900)[ROUTER_ASN]
        assert down.state is RoutingState.UNKNOWN and "route feed down" in down.reason
        figures = feeds.figures()
        assert figures.parsed["exabgp"] >= 4 and not figures.rejected


def _routes(feeds: BgpFeeds) -> int:
    peers = feeds.figures().peers
    return sum(peer.routes for peer in peers if peer.loaded)
