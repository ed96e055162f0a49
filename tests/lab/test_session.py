"""lab/session.py's reconciliation on the real network: the first apply of a lab and partial restores.

A lab that `vantage lab run --id` attaches to is a fresh `Lab` over a running
network: its first `apply` reconciles every router. When that first apply cuts
one AS by its links, the far ends of the cut links (the neighbours' interfaces)
cannot come up; the wait for restored links must not wait for them. The same
holds for a restore while another cut stays in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vantage.lab import netns
from vantage.lab.scenario import Action, Scope
from vantage.lab.session import Lab
from vantage.lab.topology import load_topology

pytestmark = pytest.mark.netns

TOPOLOGY = load_topology(Path(__file__).resolve().parents[2] / "lab" / "topologies" / "small.toml")


def _cut(asn: int) -> Action:
    return Action(0, "cut", Scope(asns=(asn,)), f"AS{asn} cut", method="link")


def _link_states(lab: Lab, asn: int) -> dict[str, str]:
    output = netns.run_command(["ip", "-n", netns.router_ns(lab.state, asn), "-br", "link", "show"])
    rows = (line.split() for line in output.splitlines() if line)
    return {row[0].split("@", 1)[0]: row[1] for row in rows if row[0].startswith("to")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    built = Lab.create(TOPOLOGY, state_root=tmp_path_factory.mktemp("labs"))
    try:
        built.network_up()
        yield built
    finally:
        assert built.down() == []


def test_a_fresh_lab_whose_first_action_cuts_one_as(lab: Lab) -> None:
    attached = Lab(lab.state, TOPOLOGY)  # what `vantage lab run --id` builds
    attached.apply((_cut(9198),))
    assert set(_link_states(attached, 9198).values()) == {"DOWN"}
    neighbour = TOPOLOGY.links_of(9198)[0].peer_of(9198)
    far_end = TOPOLOGY.link_between(neighbour, 9198).interface_on(neighbour)
    assert _link_states(attached, neighbour)[far_end] != "UP"
    attached.apply(())
    assert set(_link_states(attached, 9198).values()) == {"UP"}


def test_a_restore_while_another_cut_stays(lab: Lab) -> None:
    lab.apply((_cut(9198), _cut(29355)))
    lab.apply((_cut(29355),))  # 9198 restored, 29355 still cut
    facing_cut = TOPOLOGY.link_between(9198, 29355).interface_on(9198)  # its peer is down: no carrier
    states = _link_states(lab, 9198)
    assert {name: state for name, state in states.items() if name != facing_cut} == dict.fromkeys(
        set(states) - {facing_cut}, "UP"
    )
    assert set(_link_states(lab, 29355).values()) == {"DOWN"}
    lab.apply(())
    assert set(_link_states(lab, 29355).values()) == {"UP"}
