"""The RIS Live source against a websocket server of our own on 127.0.0.1 that serves real RIS
Live messages (data/ris_live_samples.jsonl) and messages of the same shape for a test AS; the
server going away makes the routing signal UNKNOWN, never WITHDRAWN."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import WSMsgType, web

from vantage.collector.bgp.feeds import BgpFeeds
from vantage.collector.bgp.model import RoutingState
from vantage.collector.bgp.sources import RisLiveSource

DATA = Path(__file__).parent / "data"
OWNER = 64501
T0 = 1_800_000_000.0


def owner_update(peer: str, prefixes: list[str]) -> str:
    return json.dumps(
        {
            "type": "ris_message",
            "data": {
                "timestamp": T0,
                "peer": peer,
                "peer_asn": "64500",
                "id": f"{peer}-1",
                "host": "rrc00.ripe.net",
                "type": "UPDATE",
                "path": [64500, OWNER],
                "origin": "IGP",
                "announcements": [{"next_hop": peer, "prefixes": prefixes}],
                "withdrawals": [],
            },
        }
    )


async def scenario() -> None:
    frames = (DATA / "ris_live_samples.jsonl").read_text(encoding="utf-8").splitlines()
    frames += [owner_update(peer, ["192.0.2.0/24", "198.51.100.0/24"]) for peer in ("192.0.2.1", "192.0.2.2")]
    frames.append('{"type": "ris_message", "data": {"type": "UPDATE", "peer": "192.0.2.9"}}')  # broken
    subscriptions: list[object] = []
    close_now = asyncio.Event()

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        assert first.type is WSMsgType.TEXT
        subscriptions.append(json.loads(first.data))
        for frame in frames:
            await ws.send_str(frame)
        await close_now.wait()
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/v1/ws/", websocket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    feeds = BgpFeeds([RisLiveSource(f"ws://127.0.0.1:{port}/v1/ws/?client=vantage-test")])
    await feeds.start()
    try:
        await until(
            lambda: sum(feeds.figures().parsed.values()) + len(feeds.figures().rejected) == len(frames)
        )
        assert subscriptions == [{"type": "ris_subscribe", "data": {"type": "UPDATE"}}]
        figures = feeds.figures()
        assert figures.parsed == {"ris-live": len(frames) - 1}
        assert figures.rejected == {("ris-live", "missing_field"): 1}
        visible = feeds.snapshot(T0)[OWNER]
        # Two of the six peers carry the owner's prefixes, but only they are full-feed (2 routes,
        # every other peer has 1): more than half of them see both prefixes.
        assert visible.state is RoutingState.VISIBLE and visible.visible_addresses == 512
        assert figures.statuses[0].connected

        close_now.set()
        await runner.cleanup()  # the server goes away: reconnecting fails from now on
        await until(lambda: not feeds.figures().statuses[0].connected)
        down = feeds.snapshot(T0 + 300)[OWNER]
        assert down.state is RoutingState.UNKNOWN and down.baseline_prefixes == 2
    finally:
        await feeds.stop()
        await runner.cleanup()


async def until(condition: object, timeout_s: float = 30.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout_s)


def test_ris_live_source_then_disconnect() -> None:
    asyncio.run(scenario())
