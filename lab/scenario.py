"""A lab scenario: a timeline of staged actions and the ground truth they should produce.

A scenario file (TOML) has a header, `[[action]]` tables at offsets in seconds
from the start of the scenario, and `[[expect]]` tables: the events a correct
detector reports (kind, AS or country, from/to in seconds). Parsing is pure;
`check_against(scenario, topology)` says whether every AS, country and host the
scenario names exists, so a typo fails before any namespace is built.

Actions (field `do`):
  cut      scope; method = "link" (the scope's border links go down: outside
           probes time out), "withdraw" (routes withdrawn everywhere: routers
           answer "network unreachable"; with BGP routing the scope's routers
           stop announcing to, and accepting from, the outside), "drop" (a
           data-plane cut with routes intact: the scope's border drops every
           packet it would forward) or "inside" (the scope's routers still
           answer, but forward nothing from outside into their networks)
  hijack   as = N (one AS), prefix_of = M: AS N also originates AS M's prefix
           (BGP routing only); restore as = N ends it
  depref   link = [A, B] (two linked ASes): routes over that link become less
           preferred (lower local preference at both ends, AS path prepended),
           so they move where another path exists (BGP routing only); restore
           link = [A, B] ends it
  restore  scope (or link = [A, B]): undo the cuts, hijacks and deprefs made
           on exactly that scope
  loss     scope, percent: drop that share of packets crossing the scope's border
  delay    scope, ms: needs the sch_netem kernel module (refused at start otherwise)
  filter   scope (where the censored users are), hosts = ["ASN:name", ...],
           protocols = ["icmp"|"dns"|"http"|"tcp"], port, action = "drop" |
           "reject" | "reset" | "dns-rewrite"
  clear    scope: remove loss, delay and filters set on exactly that scope
A scope is `as = N`, `as = [N, ...]`, `country = "CC"`, or `all = true`
(restore/clear only). A header `routing = "bgp"` runs the scenario with real
BGP routing whatever its topology file says (lab/topology.py).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vantage.lab.topology import ROUTINGS, Topology

ACTION_KINDS = ("cut", "restore", "loss", "delay", "filter", "clear", "hijack", "depref")
CUT_METHODS = ("link", "withdraw", "drop", "inside")
# Actions that only a routing protocol can stage (lab/bgp.py).
BGP_ONLY_KINDS = ("hijack", "depref")
FILTER_ACTIONS = ("drop", "reject", "reset", "dns-rewrite")
FILTER_PROTOCOLS = ("icmp", "dns", "http", "tcp")
EVENT_KINDS = ("outage", "degradation", "filtering")


class ScenarioError(ValueError):
    """The scenario file is invalid; the message names the action and field."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an action applies: some ASes, one country, or everything."""

    asns: tuple[int, ...] = ()
    country: str = ""
    everything: bool = False

    def describe(self) -> str:
        if self.everything:
            return "everything"
        if self.country:
            return self.country
        return ", ".join(f"AS{asn}" for asn in self.asns)

    def member_asns(self, topology: Topology) -> tuple[int, ...]:
        if self.everything:
            return tuple(a.asn for a in topology.ases)
        if self.country:
            return tuple(a.asn for a in topology.ases_in(self.country))
        return self.asns


@dataclass(frozen=True, slots=True)
class Action:
    at_s: float
    kind: str
    scope: Scope
    label: str
    method: str = "link"  # cut
    percent: int = 0  # loss
    delay_ms: int = 0  # delay
    hosts: tuple[str, ...] = ()  # filter: "ASN:name" references
    protocols: tuple[str, ...] = ()  # filter
    port: int = 0  # filter (tcp)
    filter_action: str = "drop"  # filter
    prefix_of: int = 0  # hijack: the AS whose prefix the scope's AS originates too


@dataclass(frozen=True, slots=True)
class ExpectedEvent:
    """Ground truth: an event a correct detector reports."""

    kind: str
    asn: int  # 0 when the event is a country's
    country: str  # "" when the event is an AS's
    from_s: float
    to_s: float | None  # None: still going at the end of the scenario
    optional: bool  # a detector may or may not report it (e.g. a country roll-up)

    def describe(self) -> str:
        return f"AS{self.asn}" if self.asn else self.country


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    topology: str  # a shipped topology name or a path
    duration_s: float
    warmup_s: float  # wait this long (at most) for every AS to be UP before t=0
    actions: tuple[Action, ...]  # sorted by time, stable
    expected: tuple[ExpectedEvent, ...]
    routing: str = ""  # "": as the topology says; else one of ROUTINGS


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    duration_s = _number(document, "duration_seconds", source)
    if duration_s <= 0:
        raise ScenarioError(f"{source}: duration_seconds must be positive")
    raw_actions = document.get("action", [])
    if not isinstance(raw_actions, list):
        raise ScenarioError(f"{source}: [[action]] must be a list of tables")
    actions = [
        _action(raw, f"{source}: [[action]] #{n + 1}", duration_s) for n, raw in enumerate(raw_actions)
    ]
    raw_expected = document.get("expect", [])
    if not isinstance(raw_expected, list):
        raise ScenarioError(f"{source}: [[expect]] must be a list of tables")
    expected = [
        _expected(raw, f"{source}: [[expect]] #{n + 1}", duration_s) for n, raw in enumerate(raw_expected)
    ]
    routing = document.get("routing", "")
    if routing and routing not in ROUTINGS:
        raise ScenarioError(f"{source}: routing must be one of {', '.join(ROUTINGS)}, got {routing!r}")
    return Scenario(
        routing=str(routing),
        name=str(document.get("name", Path(source).stem)),
        description=str(document.get("description", "")),
        topology=str(document.get("topology", "default")),
        duration_s=duration_s,
        warmup_s=_number(document, "warmup_seconds", source, default=60.0),
        actions=tuple(sorted(actions, key=lambda action: action.at_s)),
        expected=tuple(expected),
    )


def check_against(scenario: Scenario, topology: Topology) -> None:
    """Raise ScenarioError when the scenario names something the topology lacks."""
    known_asns = {a.asn for a in topology.ases}
    routing = scenario.routing or topology.routing
    for action in scenario.actions:
        where = f"action at {action.at_s:g}s ({action.kind})"
        _check_scope(action.scope, known_asns, topology, where)
        if action.kind in BGP_ONLY_KINDS and routing != "bgp":
            raise ScenarioError(
                f'{where}: needs BGP routing (routing = "bgp" in the topology or the scenario), '
                f"topology {topology.name!r} routes {routing}"
            )
        if action.kind == "hijack" and action.prefix_of not in known_asns:
            raise ScenarioError(
                f"{where}: prefix_of AS{action.prefix_of} is not in topology {topology.name!r}"
            )
        if action.kind == "depref":
            try:
                topology.link_between(*action.scope.asns)
            except KeyError as exc:
                raise ScenarioError(f"{where}: {exc.args[0]}") from exc
        for reference in action.hosts:
            try:
                topology.host(reference)
            except KeyError as exc:
                raise ScenarioError(f"{where}: {exc.args[0]}") from exc
    for event in scenario.expected:
        where = f"expected {event.kind} of {event.describe()}"
        if event.asn and event.asn not in known_asns:
            raise ScenarioError(f"{where}: AS{event.asn} is not in topology {topology.name!r}")
        if event.country and event.country not in topology.countries:
            raise ScenarioError(f"{where}: country {event.country} is not in topology {topology.name!r}")


def _check_scope(scope: Scope, known_asns: set[int], topology: Topology, where: str) -> None:
    for asn in scope.asns:
        if asn not in known_asns:
            raise ScenarioError(f"{where}: AS{asn} is not in topology {topology.name!r}")
    if scope.country and scope.country not in topology.countries:
        raise ScenarioError(f"{where}: no AS of topology {topology.name!r} is in {scope.country}")


def _action(raw: Any, where: str, duration_s: float) -> Action:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    at_s = _number(raw, "at", where)
    if not 0 <= at_s <= duration_s:
        raise ScenarioError(f"{where}: at = {at_s:g} is outside the scenario (0..{duration_s:g} s)")
    kind = raw.get("do")
    if kind not in ACTION_KINDS:
        raise ScenarioError(f"{where}: do must be one of {', '.join(ACTION_KINDS)}, got {kind!r}")
    where = f"{where} ({kind} at {at_s:g}s)"
    if kind == "depref" or (kind == "restore" and "link" in raw):
        scope = _link_scope(raw, where)
    else:
        scope = _scope(raw, where, allow_everything=kind in ("restore", "clear"))
    label = str(raw.get("label", f"{kind} {scope.describe()}"))
    if kind == "cut":
        method = raw.get("method", "link")
        if method not in CUT_METHODS:
            raise ScenarioError(f"{where}: method must be one of {', '.join(CUT_METHODS)}, got {method!r}")
        return Action(at_s, kind, scope, label, method=method)
    if kind == "loss":
        percent = _integer(raw, "percent", where)
        if not 1 <= percent <= 100:
            raise ScenarioError(f"{where}: percent must be in 1..100, got {percent}")
        return Action(at_s, kind, scope, label, percent=percent)
    if kind == "delay":
        delay_ms = _integer(raw, "ms", where)
        if not 1 <= delay_ms <= 60_000:
            raise ScenarioError(f"{where}: ms must be in 1..60000, got {delay_ms}")
        return Action(at_s, kind, scope, label, delay_ms=delay_ms)
    if kind == "filter":
        return _filter(raw, where, at_s, scope, label)
    if kind == "hijack":
        if len(scope.asns) != 1:
            raise ScenarioError(f"{where}: as must be the one AS that originates the prefix")
        prefix_of = _integer(raw, "prefix_of", where)
        if prefix_of == scope.asns[0]:
            raise ScenarioError(f"{where}: prefix_of must be another AS than as")
        return Action(at_s, kind, scope, label, prefix_of=prefix_of)
    return Action(at_s, kind, scope, label)


def _link_scope(raw: dict[str, Any], where: str) -> Scope:
    """`link = [A, B]`: the scope of the two ASes, sorted (so that restore finds it either way round)."""
    link = raw.get("link")
    if [key for key in ("as", "country", "all") if key in raw]:
        raise ScenarioError(f"{where}: give link = [A, B] and no other scope")
    if not (
        isinstance(link, list)
        and len(link) == 2
        and all(isinstance(asn, int) and not isinstance(asn, bool) and asn > 0 for asn in link)
        and link[0] != link[1]
    ):
        raise ScenarioError(
            f"{where}: link must be two different AS numbers, e.g. [1299, 9198], got {link!r}"
        )
    return Scope(asns=tuple(sorted(link)))


def _filter(raw: dict[str, Any], where: str, at_s: float, scope: Scope, label: str) -> Action:
    hosts = raw.get("hosts", [])
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        raise ScenarioError(f'{where}: hosts must be a non-empty list like ["24940:news"]')
    protocols = raw.get("protocols", ["icmp", "dns", "http"])
    if not isinstance(protocols, list) or not protocols:
        raise ScenarioError(f"{where}: protocols must be a non-empty list")
    for protocol in protocols:
        if protocol not in FILTER_PROTOCOLS:
            raise ScenarioError(f"{where}: protocol {protocol!r} is not one of {', '.join(FILTER_PROTOCOLS)}")
    port = _integer(raw, "port", where, default=0)
    if "tcp" in protocols and not 0 < port < 65536:
        raise ScenarioError(f"{where}: protocol tcp needs port = 1..65535")
    filter_action = raw.get("action", "drop")
    if filter_action not in FILTER_ACTIONS:
        raise ScenarioError(
            f"{where}: action must be one of {', '.join(FILTER_ACTIONS)}, got {filter_action!r}"
        )
    if filter_action == "reset" and "icmp" in protocols:
        raise ScenarioError(f"{where}: action reset applies to TCP only; remove icmp from protocols")
    if filter_action == "dns-rewrite" and protocols != ["dns"]:
        raise ScenarioError(f'{where}: action dns-rewrite needs protocols = ["dns"]')
    return Action(
        at_s,
        "filter",
        scope,
        label,
        hosts=tuple(hosts),
        protocols=tuple(protocols),
        port=port,
        filter_action=filter_action,
    )


def _scope(raw: dict[str, Any], where: str, *, allow_everything: bool) -> Scope:
    given = [key for key in ("as", "country", "all") if key in raw]
    if len(given) != 1:
        hint = "as = N, country = CC" + (" or all = true" if allow_everything else "")
        raise ScenarioError(f"{where}: give exactly one scope ({hint})")
    if "all" in raw:
        if not allow_everything or raw["all"] is not True:
            raise ScenarioError(f"{where}: all = true is allowed for restore and clear only")
        return Scope(everything=True)
    if "country" in raw:
        country = raw["country"]
        if not (isinstance(country, str) and len(country) == 2 and country.isupper()):
            raise ScenarioError(f"{where}: country must be an ISO code like KZ, got {country!r}")
        return Scope(country=country)
    value = raw["as"]
    asns = value if isinstance(value, list) else [value]
    if not asns or not all(isinstance(asn, int) and not isinstance(asn, bool) and asn > 0 for asn in asns):
        raise ScenarioError(f"{where}: as must be an AS number or a list of them, got {value!r}")
    return Scope(asns=tuple(asns))


def _expected(raw: Any, where: str, duration_s: float) -> ExpectedEvent:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a table")
    kind = raw.get("kind")
    if kind not in EVENT_KINDS:
        raise ScenarioError(f"{where}: kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
    has_as, has_country = "as" in raw, "country" in raw
    if has_as == has_country:
        raise ScenarioError(f"{where}: give exactly one of as = N or country = CC")
    asn = raw.get("as", 0)
    if has_as and not (isinstance(asn, int) and not isinstance(asn, bool) and asn > 0):
        raise ScenarioError(f"{where}: as must be one AS number, got {asn!r}")
    country = raw.get("country", "")
    if has_country and not (isinstance(country, str) and len(country) == 2):
        raise ScenarioError(f"{where}: country must be an ISO code like KZ, got {country!r}")
    from_s = _number(raw, "from", where)
    to_s = _number(raw, "to", where) if "to" in raw else None
    if to_s is not None and not from_s < to_s <= duration_s:
        raise ScenarioError(f"{where}: need from < to <= duration_seconds ({duration_s:g})")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise ScenarioError(f"{where}: optional must be true or false")
    return ExpectedEvent(kind, asn, country, from_s, to_s, optional)


def _number(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: missing required field {key!r}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {key} must be a number of seconds, got {value!r}")
    return float(value)


def _integer(table: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    if key not in table:
        if default is None:
            raise ScenarioError(f"{where}: missing required field {key!r}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: {key} must be an integer, got {value!r}")
    return value
