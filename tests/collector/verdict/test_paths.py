"""Localisation: where paths stop during an event, against the paths from before it.

A small Internet in AS numbers: vantage points in AS64500-64502, each reaching AS9198
through AS1299 (two routers) and AS35168 (a national transit, one router), then AS9198's
border router b1, its core router c1, and the target. The cuts of the issue, one per place:
the transit link AS1299-AS35168, the border into AS9198, inside AS9198 — and a path change
that is no cut.
"""

from __future__ import annotations

import pytest

from vantage.collector.verdict.paths import (
    CutPlace,
    Localisation,
    PathMemory,
    Trace,
    TracedHop,
    localise,
    map_hops,
)

A = 9198
ROUTERS = {
    "r1299a": 1299, "r1299b": 1299, "r35168": 35168, "r3356": 3356,
    "b1": A, "c1": A, "target": A,
}  # fmt: skip
BEFORE_PATH = ["r1299a", "r1299b", "r35168", "b1", "c1", "target"]
VPS = {"vp0": 64500, "vp1": 64501, "vp2": 64502}


def trace(probe: str, path: list[str], reached: bool, at: float = 1000.0) -> Trace:
    routers = [TracedHop(ttl, name, ROUTERS[name]) for ttl, name in enumerate(path, start=2)]
    hops = (TracedHop(1, f"gw-{probe}", VPS[probe]), *routers)
    return Trace(probe, VPS[probe], "t1", A, at, hops, reached)


def memory() -> PathMemory:
    return PathMemory().updated([trace(p, BEFORE_PATH, True, at=10.0) for p in VPS], {A})


def during(path: list[str], reached: bool = False, probes: tuple[str, ...] = tuple(VPS)) -> list[Trace]:
    return [trace(p, path, reached) for p in probes]


def found(traces: list[Trace], mem: PathMemory | None = None) -> Localisation:
    result = localise(A, traces, memory() if mem is None else mem)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("path", "reached", "place", "stop_asn", "next_asn", "sentence"),
    [
        (
            ["r1299a", "r1299b"], False, CutPlace.UPSTREAM, 1299, 35168,
            "paths from 3 vantage points in 3 ASes stop at the last hop of AS1299 before AS35168 (r1299b), "
            "upstream of AS9198; before the event they continued into AS35168: a transit cut",
        ),
        (
            ["r1299a", "r1299b", "r35168"], False, CutPlace.BORDER, 35168, A,
            "paths from 3 vantage points in 3 ASes stop at the last hop of AS35168 before AS9198 (r35168); "
            "before the event they continued into AS9198: a cut at the border of AS9198",
        ),
        (
            ["r1299a", "r1299b", "r35168", "b1"], False, CutPlace.INSIDE, A, 0,
            "paths from 3 vantage points in 3 ASes enter AS9198 and stop inside it (last hop b1): "
            "a cut inside AS9198",
        ),
        (
            ["r1299a", "r1299b", "r35168", "b1", "c1"], False, CutPlace.INSIDE, A, 0,
            "paths from 3 vantage points in 3 ASes enter AS9198 and stop inside it (last hop c1): "
            "a cut inside AS9198",
        ),
        (
            ["r1299a", "r1299b", "r3356", "b1", "c1", "target"], True, CutPlace.PATH_CHANGE, 0, 0,
            "paths from 3 vantage points in 3 ASes still reach AS9198 by other AS paths than before: "
            "a path change, no cut",
        ),
        (
            BEFORE_PATH, True, CutPlace.NO_CUT, 0, 0,
            "paths from 3 vantage points in 3 ASes still reach AS9198 as before: no cut on the path",
        ),
    ],
    ids=["transit-cut", "border", "inside-at-its-first-router", "inside", "path-change", "no-cut"],
)  # fmt: skip
def test_each_place(
    path: list[str], reached: bool, place: CutPlace, stop_asn: int, next_asn: int, sentence: str
) -> None:
    result = found(during(path, reached))
    assert (result.place, result.stop_asn, result.next_asn) == (place, stop_asn, next_asn)
    assert result.agreeing_vantage_points == 3 and result.agreeing_asns == (64500, 64501, 64502)
    assert result.summary == sentence


def test_the_majority_place_and_how_many_agree() -> None:
    traces = during(["r1299a", "r1299b"], probes=("vp0", "vp1")) + during(
        ["r1299a", "r1299b", "r35168", "b1", "c1"], probes=("vp2",)
    )
    result = found(traces)
    assert result.place is CutPlace.UPSTREAM and result.agreeing_vantage_points == 2
    assert result.traced_vantage_points == 3
    assert result.summary.startswith("paths from 2 vantage points in 2 ASes (of 3 traced) stop at")


def test_stopped_paths_outweigh_reaching_ones() -> None:
    traces = during(BEFORE_PATH, True, probes=("vp0", "vp1")) + during(["r1299a"], probes=("vp2",))
    result = found(traces)
    assert result.place is CutPlace.UPSTREAM and result.agreeing_vantage_points == 1


def test_without_a_before_only_an_inside_stop_can_be_placed() -> None:
    assert found(during(["r1299a", "r1299b"]), PathMemory()).place is CutPlace.UNKNOWN
    assert found(during(["r1299a", "r35168", "b1", "c1"]), PathMemory()).place is CutPlace.INSIDE
    assert found(during(["r1299a", "r35168", "b1"]), PathMemory()).place is CutPlace.INSIDE


def test_a_stop_off_the_old_path_is_unknown_and_says_so() -> None:
    result = found(during(["r1299a", "r3356"]))
    assert result.place is CutPlace.UNKNOWN and result.stop_asn == 3356
    assert "where no path from before the event leads" in result.summary


def test_no_traces_no_finding_and_the_latest_trace_counts() -> None:
    assert localise(A, [], memory()) is None
    assert localise(64999, during(["r1299a"]), memory()) is None
    old, new = trace("vp0", ["r1299a"], False, at=5.0), trace("vp0", BEFORE_PATH, True, at=6.0)
    assert found([new, old]).place is CutPlace.NO_CUT


def test_memory_keeps_only_reaching_traces_towards_up_ases() -> None:
    mem = memory()
    assert len(mem.before) == 3
    later = mem.updated([trace("vp0", ["r1299a"], False, at=20.0)], {A})  # did not reach
    assert later.before[("vp0", A)].started_unix_s == 10.0
    down = mem.updated([trace("vp0", ["r1299a", "r3356", "b1", "c1", "target"], True, at=30.0)], set())
    assert down.before[("vp0", A)].started_unix_s == 10.0  # A not UP: not a "before"
    newer = mem.updated([trace("vp0", ["r1299a", "r3356", "b1", "c1", "target"], True, at=30.0)], {A})
    assert newer.before[("vp0", A)].as_path == (64500, 1299, 3356, A)
    assert mem.before[("vp0", A)].started_unix_s == 10.0  # the old memory is unchanged


def test_map_hops_and_as_paths() -> None:
    table = {"198.51.100.1": (64500, "NL"), "203.0.113.1": (1299, "SE"), "203.0.113.2": (1299, "SE")}
    hops = map_hops(
        [(1, "198.51.100.1"), (2, "192.0.2.7"), (3, "203.0.113.1"), (4, "203.0.113.2"), (5, "")],
        lambda address: table.get(address, (0, "")),
    )
    assert [h.asn for h in hops] == [64500, 0, 1299, 1299]
    assert Trace("p", 64500, "t", 1299, 0.0, hops, False).as_path == (64500, 1299)
