"""Scenario files: the shipped ones load and match their topologies; mistakes name the action and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from vantage.lab.scenario import ScenarioError, Scope, check_against, load_scenario, parse_scenario
from vantage.lab.topology import load_topology

LAB = Path(__file__).resolve().parents[2] / "lab"

HEADER = 'name = "s"\nduration_seconds = 60\n'


@pytest.mark.parametrize(("scenario", "topology"), [("kazakhstan-2022", "default"), ("acceptance", "small")])
def test_shipped_scenarios_fit_their_topologies(scenario: str, topology: str) -> None:
    loaded = load_scenario(LAB / "scenarios" / f"{scenario}.toml")
    assert loaded.topology == topology
    check_against(loaded, load_topology(LAB / "topologies" / f"{topology}.toml"))
    assert [a.at_s for a in loaded.actions] == sorted(a.at_s for a in loaded.actions)
    assert any(not e.optional for e in loaded.expected)


def test_kazakhstan_follows_the_history() -> None:
    scenario = load_scenario(LAB / "scenarios" / "kazakhstan-2022.toml")
    kinds = [a.kind for a in scenario.actions]
    # throttling, then cuts, a restore and a second cut, then filtering.
    assert kinds.index("loss") < kinds.index("cut") < kinds.index("restore") < kinds.index("filter")
    national = [a for a in scenario.actions if a.kind == "cut" and a.scope == Scope(country="KZ")]
    assert len(national) == 2


def test_actions_parse_with_their_fields() -> None:
    scenario = parse_scenario(
        HEADER
        + """
[[action]]
at = 10
do = "filter"
country = "KZ"
hosts = ["24940:news"]
protocols = ["dns"]
action = "dns-rewrite"
[[action]]
at = 5
do = "cut"
as = [1, 2]
method = "withdraw"
[[expect]]
kind = "outage"
as = 1
from = 5
"""
    )
    cut, filtering = scenario.actions
    assert cut.kind == "cut" and cut.method == "withdraw" and cut.scope.asns == (1, 2)
    assert filtering.filter_action == "dns-rewrite" and filtering.hosts == ("24940:news",)
    assert scenario.expected[0].to_s is None


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ('at = 5\ndo = "explode"\nas = 1', "do must be one of"),
        ('at = 500\ndo = "cut"\nas = 1', "outside the scenario"),
        ('at = 5\ndo = "cut"', "exactly one scope"),
        ('at = 5\ndo = "cut"\nall = true', "restore and clear only"),
        ('at = 5\ndo = "cut"\nas = 1\nmethod = "bgp"', "method must be one of"),
        ('at = 5\ndo = "loss"\nas = 1\npercent = 150', "percent must be in 1..100"),
        ('at = 5\ndo = "filter"\nas = 1\nhosts = []', "hosts must be a non-empty list"),
        ('at = 5\ndo = "filter"\nas = 1\nhosts = ["1:a"]\nprotocols = ["tcp"]', "needs port"),
        (
            'at = 5\ndo = "filter"\nas = 1\nhosts = ["1:a"]\nprotocols = ["icmp"]\naction = "reset"',
            "TCP only",
        ),
        ('at = 5\ndo = "filter"\nas = 1\nhosts = ["1:a"]\naction = "dns-rewrite"', 'protocols = \\["dns"\\]'),
    ],
)
def test_invalid_actions_name_the_problem(action: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(HEADER + "[[action]]\n" + action + "\n")


def test_unknown_names_are_caught_before_anything_runs() -> None:
    topology = load_topology(LAB / "topologies" / "small.toml")
    for body, message in [
        ('[[action]]\nat = 1\ndo = "cut"\nas = 7\n', "AS7 is not in topology"),
        ('[[action]]\nat = 1\ndo = "cut"\ncountry = "FR"\n', "FR"),
        ('[[action]]\nat = 1\ndo = "filter"\nas = 9198\nhosts = ["24940:nope"]\n', "no host"),
        ('[[expect]]\nkind = "outage"\nas = 7\nfrom = 1\n', "AS7"),
    ]:
        with pytest.raises(ScenarioError, match=message):
            check_against(parse_scenario(HEADER + body), topology)


def test_expectations_are_checked() -> None:
    with pytest.raises(ScenarioError, match="exactly one of as"):
        parse_scenario(HEADER + '[[expect]]\nkind = "outage"\nfrom = 1\n')
    with pytest.raises(ScenarioError, match="from < to"):
        parse_scenario(HEADER + '[[expect]]\nkind = "outage"\nas = 1\nfrom = 10\nto = 5\n')
