"""The mechanism, end to end with real BGP: lab/scenarios/bgp-mechanisms.toml on lab/topologies/bgp.toml.

BIRD routes every AS; the ExaBGP route collector hears every router and relays to the
collector's `--bgp-source exabgp:unix:PATH` (lab/product.py). AS29355 is first withdrawn,
then dropped at its border with its routes intact: two outages, told apart by their
mechanism. Then AS29355 also originates AS3320's prefix, which must not turn AS3320 down by
itself.
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
SCENARIO = load_scenario(LAB / "scenarios" / "bgp-mechanisms.toml")
TOPOLOGY = load_topology(LAB / "topologies" / "bgp.toml")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with scenario_run(SCENARIO, TOPOLOGY, tmp_path_factory.mktemp("labs")) as (outcome, product):
        yield {
            "report": outcome.report,
            "kcell": product.query("timeline", "--asn", "29355", "--since", "1h"),
            "owner": product.query("timeline", "--asn", "3320", "--since", "1h"),
        }


def test_both_cuts_are_detected_and_nothing_false(run: dict[str, Any]) -> None:
    report = run["report"]
    assert all(m.detected for m in report.matches if not m.expected.optional)
    assert not report.false_events


def test_a_withdrawal_and_a_data_plane_drop_of_the_same_as_are_told_apart(run: dict[str, Any]) -> None:
    outages = sorted(
        (e for e in run["kcell"].get("events", []) if e.get("kind") == "EVENT_KIND_OUTAGE"),
        key=lambda e: str(e.get("started_at", "")),
    )
    print([(e.get("mechanism"), e.get("mechanism_reason")) for e in outages])
    assert [e.get("mechanism") for e in outages] == ["MECHANISM_BGP_WITHDRAWAL", "MECHANISM_DATA_PLANE"]
    withdrawal, drop = (str(e.get("mechanism_reason", "")) for e in outages)
    assert "routes withdrawn: 0/1 prefixes of AS29355 visible" in withdrawal
    assert "routes visible: 1/1 prefixes of AS29355 visible" in drop and "routes intact" in drop


def test_a_hijack_like_re_announcement_does_not_turn_the_owner_down(run: dict[str, Any]) -> None:
    owner = run["owner"]
    assert not [e for e in owner.get("events", []) if e.get("kind") == "EVENT_KIND_OUTAGE"]
    points = owner.get("points", [])
    assert points and all(p.get("status") != "STATUS_DOWN" for p in points)
