"""Traceroute through real routers: probe - r1 - r2 - r3 - target namespaces (netns_lab.PathLab).

The kernel of each router answers time exceeded and unreachable, the target's kernel answers
echo, port unreachable and RST: what a trace meets on a real path. Each case runs the
`vantage probe measure traceroute` command in the probe namespace, by every method.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from .netns_lab import (
    PATH_LOOP,
    PATH_TARGET,
    PATH_TARGET6,
    PATH_UNREACHABLE,
    PATH_UNREACHABLE6,
    VANTAGE,
    PathLab,
    path_hop_address,
)

pytestmark = pytest.mark.netns
METHODS = ["icmp", "udp", "tcp"]


def trace(lab: PathLab, target: str, *args: str, fmt: str = "--json") -> tuple[int, str]:
    argv = lab.exec_argv(VANTAGE, "probe", "measure", "traceroute", target, *args, fmt)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout


def document(lab: PathLab, target: str, *args: str) -> tuple[int, dict[str, Any]]:
    status, out = trace(lab, target, *args)
    (line,) = out.splitlines()
    return status, json.loads(line)


def addresses(doc: dict[str, Any]) -> list[set[str]]:
    return [
        {r["from_address"] for r in hop["replies"] if not r.get("lost")} for hop in doc["traceroute"]["hops"]
    ]


@pytest.mark.parametrize("method", METHODS)
def test_the_trace_names_every_router_and_reaches_the_target(path_lab: PathLab, method: str) -> None:
    status, doc = document(path_lab, PATH_TARGET, "--protocol", method)
    assert status == 0 and doc["outcome"] == "OUTCOME_OK"
    details = doc["traceroute"]
    assert details["stop_reason"] == "completed" and details["destination_reached"]
    assert addresses(doc) == [
        {path_hop_address(1)},
        {path_hop_address(2)},
        {path_hop_address(3)},
        {PATH_TARGET},
    ]
    first = details["hops"][0]["replies"][0]
    assert first["icmp_type"] == 11 and first["quoted_ttl"] == 1 and first["reply_ttl"] == 64
    assert details["method"] == method and doc["source_address"] == "198.19.11.1"


@pytest.mark.parametrize("method", METHODS)
def test_an_unreachable_route_ends_the_trace_at_its_router(path_lab: PathLab, method: str) -> None:
    status, doc = document(path_lab, PATH_UNREACHABLE, "--protocol", method, "--timeout", "300")
    assert status == 1 and doc["failure"]["kind"] == "host_unreachable"
    assert doc["failure"]["operation"] == "OPERATION_TRACE"
    assert doc["traceroute"]["stop_reason"] == "unreachable"
    assert addresses(doc)[-1] == {path_hop_address(3)}


def test_a_routing_loop_is_reported_as_one(path_lab: PathLab) -> None:
    status, doc = document(path_lab, PATH_LOOP)
    assert status == 1 and doc["traceroute"]["stop_reason"] == "loop"
    assert doc["traceroute"]["anomalies"] == ["loop"]
    assert addresses(doc) == [{path_hop_address(n)} for n in (1, 2, 3, 2)]


def test_a_silent_router_is_a_row_of_stars(path_lab: PathLab) -> None:
    path_lab.silence(2)
    try:
        status, out = trace(path_lab, PATH_TARGET, "--timeout", "300", fmt="--format=table")
    finally:
        subprocess.run(
            ["ip", "netns", "exec", path_lab.router_ns(2), "nft", "delete", "table", "ip", "vtpp_silent"]
        )
    lines = out.splitlines()
    assert status == 0
    assert lines[0].startswith(f"traceroute to {PATH_TARGET} ({PATH_TARGET}), 30 hops max, 38 byte packets")
    assert lines[1].startswith(f" 1  {path_hop_address(1)}  ") and lines[1].count(" ms") == 3
    assert lines[2] == " 2  *  *  *"
    assert lines[4].startswith(f" 4  {PATH_TARGET}  ")
    assert lines[5] == "    stopped: completed; result: ok"


def test_the_atlas_form_parses_with_ripe_atlas_sagan(path_lab: PathLab) -> None:
    from ripe.atlas.sagan import Result, TracerouteResult

    for target, family in ((PATH_TARGET, 4), (PATH_TARGET6, 6)):
        for method in METHODS:
            _, out = trace(path_lab, target, "--protocol", method, fmt="--format=atlas")
            raw = json.loads(out)
            parsed = Result.get(raw, on_error=Result.ACTION_FAIL, on_malformation=Result.ACTION_FAIL)
            assert isinstance(parsed, TracerouteResult)
            assert parsed.destination_ip_responded and parsed.total_hops == 4
            assert parsed.ip_path[0] == [path_hop_address(1, family)] * 3
            assert parsed.protocol == method.upper() and parsed.af == family


@pytest.mark.parametrize("method", METHODS)
def test_ipv6_traces_name_every_router_and_reach_the_target(path_lab: PathLab, method: str) -> None:
    status, doc = document(path_lab, PATH_TARGET6, "--protocol", method)
    assert status == 0 and doc["outcome"] == "OUTCOME_OK", doc
    assert addresses(doc) == [{path_hop_address(n, 6)} for n in (1, 2, 3)] + [{PATH_TARGET6}]
    first = doc["traceroute"]["hops"][0]["replies"][0]
    assert first["icmp_type"] == 3 and first["quoted_ttl"] == 1 and first["reply_ttl"] == 64
    assert doc["address_family"] == 6 and doc["traceroute"]["packet_size"] > 40


@pytest.mark.parametrize("method", METHODS)
def test_ipv6_address_unreachable_ends_the_trace(path_lab: PathLab, method: str) -> None:
    status, doc = document(path_lab, PATH_UNREACHABLE6, "--protocol", method, "--timeout", "300")
    assert status == 1 and doc["failure"]["kind"] == "host_unreachable"
    assert doc["traceroute"]["stop_reason"] == "unreachable"
    assert addresses(doc)[-1] == {path_hop_address(3, 6)}
    _, table = trace(
        path_lab, PATH_UNREACHABLE6, "--protocol", method, "--timeout", "300", fmt="--format=table"
    )
    assert " !H" in table.splitlines()[3]
