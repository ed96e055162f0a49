"""Two network namespaces joined by a veth pair, with a real BIRD 2 in the first: the BGP
speaker the route-feed tests peer with (ExaBGP, or a second BIRD writing MRT dumps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

ROUTER_ADDRESS = "198.19.254.1"  # the lab's benchmarking range (RFC 2544), only in our namespaces
PEER_ADDRESS = "198.19.254.2"
ROUTER_ASN = 64501
PEER_ASN = 64500
OTHER_ASN = 64502  # a second origin, prepended by the router's export filter
OWNER_PREFIXES = ("198.18.100.0/24", "198.18.101.0/24")
OTHER_PREFIX = "198.18.200.0/24"


def router_config() -> str:
    routes = "".join(f"route {prefix} blackhole; " for prefix in OWNER_PREFIXES)
    return f"""router id {ROUTER_ADDRESS};
protocol device {{}}
protocol static owned {{ ipv4; {routes}}}
protocol static others {{ ipv4; route {OTHER_PREFIX} blackhole; }}
protocol bgp collector {{
    local {ROUTER_ADDRESS} as {ROUTER_ASN}; neighbor {PEER_ADDRESS} as {PEER_ASN};
    ipv4 {{
        import none;
        export filter {{ if net = {OTHER_PREFIX} then bgp_path.prepend({OTHER_ASN}); accept; }};
    }};
}}
"""


@dataclass
class BirdPair:
    router_ns: str
    peer_ns: str
    work: Path

    def birdc(self, *command: str) -> str:
        return run(["birdc", "-s", str(self.work / "router.ctl"), *command])

    def start_bird(self, name: str, namespace: str, config: str) -> None:
        (self.work / f"{name}.conf").write_text(config, encoding="utf-8")
        run(
            [
                "ip",
                "netns",
                "exec",
                namespace,
                "bird",
                "-c",
                str(self.work / f"{name}.conf"),
                "-s",
                str(self.work / f"{name}.ctl"),
                "-P",
                str(self.work / f"{name}.pid"),
            ]
        )


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr or done.stdout}")
    return done.stdout


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll until the condition holds; fail naming what never happened (bounded, not timed)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened within {timeout_s:g} s: {what}")
        time.sleep(0.1)


@contextmanager
def bird_pair(work: Path) -> Iterator[BirdPair]:
    if shutil.which("bird") is None:
        pytest.skip("BIRD 2 is not installed (scripts/setup.sh installs bird2)")
    tag = f"vbf{os.getpid() % 100000}"
    pair = BirdPair(f"{tag}r", f"{tag}p", work)
    created: list[str] = []
    try:
        for namespace in (pair.router_ns, pair.peer_ns):
            run(["ip", "netns", "add", namespace])
            created.append(namespace)
            run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        run(
            [
                "ip",
                "link",
                "add",
                f"{tag}a",
                "netns",
                pair.router_ns,
                "type",
                "veth",
                "peer",
                "name",
                f"{tag}b",
                "netns",
                pair.peer_ns,
            ]
        )
        run(["ip", "-n", pair.router_ns, "addr", "add", f"{ROUTER_ADDRESS}/30", "dev", f"{tag}a"])
        run(["ip", "-n", pair.peer_ns, "addr", "add", f"{PEER_ADDRESS}/30", "dev", f"{tag}b"])
        run(["ip", "-n", pair.router_ns, "link", "set", f"{tag}a", "up"])
        run(["ip", "-n", pair.peer_ns, "link", "set", f"{tag}b", "up"])
        pair.start_bird("router", pair.router_ns, router_config())
        yield pair
    finally:
        for namespace in reversed(created):
            for pid in run(["ip", "netns", "pids", namespace]).split():
                with suppress(ProcessLookupError):
                    os.kill(int(pid), 15)
            deadline = time.monotonic() + 10
            while run(["ip", "netns", "pids", namespace]).split() and time.monotonic() < deadline:
                time.sleep(0.05)
            run(["ip", "netns", "del", namespace])
