"""Where the cut is, in the lab: lab/scenarios/traceroute-cuts.toml on the small topology.

The paths towards AS29355 are cut upstream (AS9198, the transit it is reached through, loses
its links), at its border (its own link) and inside it (its router answers, its hosts are
gone), with restorations in between. The collector schedules traceroutes (a baseline every 4
rounds, on-demand traces while AS29355 is down) and each outage's event says where its paths
stopped, from how many vantage points.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vantage.lab.scenario import load_scenario
from vantage.lab.topology import load_topology

from .scenario_run import scenario_run

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LAB = Path(__file__).resolve().parents[2] / "lab"
SCENARIO = load_scenario(LAB / "scenarios" / "traceroute-cuts.toml")
TOPOLOGY = load_topology(LAB / "topologies" / "small.toml")


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with scenario_run(SCENARIO, TOPOLOGY, tmp_path_factory.mktemp("labs")) as (outcome, product):
        assert all(m.detected for m in outcome.report.matches if not m.expected.optional)
        yield product.query("timeline", "--asn", "29355", "--since", "1h")


def test_each_outage_says_where_its_paths_stopped(timeline: dict[str, Any]) -> None:
    outages = sorted(
        (e for e in timeline.get("events", []) if e.get("kind") == "EVENT_KIND_OUTAGE"),
        key=lambda e: str(e.get("started_at", "")),
    )
    summaries = [str(e.get("summary", "")) for e in outages]
    print("\n".join(summaries))
    assert len(outages) >= 3, summaries
    upstream, border, inside = summaries[-3:]
    assert "upstream of AS29355" in upstream and "a transit cut" in upstream
    assert "stop at the last hop of AS9198 before AS29355" in border and "at the border of AS29355" in border
    assert "enter AS29355 and stop inside it" in inside and "a cut inside AS29355" in inside
