"""The protocol table (vantage/protocols.py) is the one place the measurement kinds are declared.

Two halves: the table agrees with the wire (the proto's Protocol enum, both ways) and names
modules and types that exist; and no other module spells the set of kinds out again, which
is what made adding a kind touch fifteen files.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib
import typing
from pathlib import Path

import pytest

from vantage import protocols
from vantage.kinds import Protocol
from vantage.probe.daemon import wire
from vantage.probe.engine import model
from vantage.probe.measure import table as measure_table
from vantage.probe.measure import targets as measure_targets
from vantage.probe.measure.cli import EXAMPLES, register_measure
from vantage.protocols import KINDS
from vantage.v1 import measurement_pb2

from .conftest import REPO_ROOT

NAMES = [kind.name for kind in KINDS]


def test_every_proto_protocol_is_in_the_table_and_back() -> None:
    wire_kinds = {
        name: number for name, number in measurement_pb2.Protocol.items() if name != "PROTOCOL_UNSPECIFIED"
    }
    table_kinds = {f"PROTOCOL_{kind.name.upper()}": int(kind.protocol) for kind in KINDS}
    assert table_kinds == wire_kinds


def test_the_table_uses_the_domain_enum_in_wire_order() -> None:
    assert [kind.protocol for kind in KINDS] == [p for p in Protocol if p is not Protocol.UNSPECIFIED]
    assert [kind.name for kind in KINDS] == [kind.protocol.name.lower() for kind in KINDS]
    for kind in KINDS:
        assert protocols.kind_of(int(kind.protocol)) is kind
        assert protocols.kind_named(kind.name) is kind
    assert protocols.kind_of(0) is None and protocols.kind_of(max(Protocol) + 1) is None
    assert protocols.kind_named("traceroute") is None


def test_the_options_types_are_the_engine_models() -> None:
    types = [kind.options_type() for kind in KINDS]
    assert set(types) == set(typing.get_args(model.Options))
    assert len(set(types)) == len(KINDS)
    for kind, options_type in zip(KINDS, types, strict=True):
        assert options_type.__module__ == protocols.OPTIONS_MODULE
        assert model._PROTOCOL_OF[options_type] is kind.protocol


@pytest.mark.parametrize("kind", KINDS, ids=NAMES)
def test_named_modules_exist_and_drivers_have_the_engine_entry(kind: protocols.MeasurementKind) -> None:
    if kind.step_module:
        importlib.import_module(kind.step_module)
    driver = kind.driver()
    if kind.needs_raw_socket:
        assert hasattr(driver, "run_icmp_sweep")  # the engine's one sweep driver
    else:
        assert asyncio.iscoroutinefunction(driver.measure)


def test_default_ports() -> None:
    assert {kind.name: kind.default_port for kind in KINDS} == {"icmp": 0, "dns": 53, "http": 80, "tcp": 0}
    assert protocols.DNS.default_port == model.DEFAULT_DNS_PORT


def test_capabilities_leave_out_raw_socket_kinds_without_the_icmp_socket() -> None:
    every = [int(kind.protocol) for kind in KINDS]
    assert list(wire.capabilities(icmp=True, ipv6=False).protocols) == every
    without = [int(kind.protocol) for kind in KINDS if not kind.needs_raw_socket]
    assert list(wire.capabilities(icmp=False, ipv6=False).protocols) == without
    assert int(Protocol.ICMP) not in without


def test_listed_names() -> None:
    assert protocols.listed_names() == "icmp, dns, http or tcp"
    assert protocols.listed_names("and", upper=True) == "ICMP, DNS, HTTP and TCP"


def test_the_measure_cli_has_every_kind_and_nothing_else() -> None:
    # Its per-kind flags, columns and request builders are kind-specific code (allowed below),
    # so a kind added to the table without them fails here.
    parser = argparse.ArgumentParser()
    register_measure(parser.add_subparsers())
    measure = parser._subparsers._group_actions[0].choices["measure"]  # type: ignore[union-attr]
    subcommands = measure._subparsers._group_actions[0].choices
    assert list(subcommands) == NAMES
    assert list(EXAMPLES) == NAMES
    assert list(measure_table.COLUMNS) == NAMES
    assert list(measure_targets.BUILDERS) == NAMES


# ------------------------------------------------------------------ no copies of the set

# Dicts keyed by kind name that hold each kind's own code (flags, columns, builders); the test
# above checks their keys against the table.
_PER_KIND_CODE = {"probe/measure/cli.py", "probe/measure/table.py", "probe/measure/targets.py"}
# Another fact that happens to have the same four names: the traffic the lab's firewall
# filters can match, each with its own nftables rule (a new kind is not filterable by itself).
_SAME_NAMES_OTHER_FACT = {"lab/scenario.py"}


def _source_files() -> list[Path]:
    files = [*REPO_ROOT.joinpath("collector").rglob("*.py"), *REPO_ROOT.joinpath("probe").rglob("*.py")]
    files += [p for p in REPO_ROOT.joinpath("vantage").glob("*.py") if p.name != "protocols.py"]
    files += REPO_ROOT.joinpath("lab").rglob("*.py")
    return sorted(files)


def _kinds_mentioned(node: ast.expr) -> set[str]:
    """Which kinds an element names: "icmp", Protocol.ICMP, PROTOCOL_ICMP, pb2.PROTOCOL_ICMP."""
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return {str(node.value)}
    word = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    name = word.removeprefix("PROTOCOL_").lower()
    return {name} if name in NAMES and word.upper() == word else set()


def _elements(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return list(node.elts)
    if isinstance(node, ast.Dict):
        return [k for k in node.keys if k is not None] + list(node.values)
    return []


def _copies_of_the_set(tree: ast.AST) -> list[int]:
    """Lines with a literal collection of every kind, or of every wire number bound to a
    *protocol* name (`_KNOWN_PROTOCOLS = frozenset({1, 2, 3, 4})`)."""
    lines: set[int] = set()
    numbers = {int(kind.protocol) for kind in KINDS}
    for node in ast.walk(tree):
        elements = _elements(node)
        if elements and set().union(*map(_kinds_mentioned, elements)) == set(NAMES):
            lines.add(node.lineno)  # type: ignore[attr-defined]
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any("protocol" in ast.unparse(t).lower() for t in targets) and node.value is not None:
                ints = {
                    n.value
                    for n in ast.walk(node.value)
                    if isinstance(n, ast.Constant) and type(n.value) is int
                }
                if numbers <= ints:
                    lines.add(node.lineno)
    return sorted(lines)


def test_no_module_but_the_table_restates_the_kinds() -> None:
    found = []
    for path in _source_files():
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative in _PER_KIND_CODE | _SAME_NAMES_OTHER_FACT or path.name.endswith(
            ("_pb2.py", "_pb2_grpc.py")
        ):
            continue
        found += [f"{relative}:{line}" for line in _copies_of_the_set(ast.parse(path.read_text("utf-8")))]
    assert not found, f"the set of measurement kinds restated (derive it from vantage/protocols.py): {found}"


@pytest.mark.parametrize(
    "source",
    [
        'NAMES = {"icmp": 1, "dns": 2, "http": 3, "tcp": 4}',
        "KNOWN = (Protocol.ICMP, Protocol.DNS, Protocol.HTTP, Protocol.TCP)",
        "ALL = [pb.PROTOCOL_ICMP, pb.PROTOCOL_DNS, pb.PROTOCOL_HTTP, pb.PROTOCOL_TCP]",
        "PROTOCOL_ICMP, PROTOCOL_DNS, PROTOCOL_HTTP, PROTOCOL_TCP = 1, 2, 3, 4",
        "_KNOWN_PROTOCOLS = frozenset({1, 2, 3, 4})",
    ],
)
def test_the_copy_detector_sees_a_copy(source: str) -> None:
    assert _copies_of_the_set(ast.parse(source)) == [1]


def test_the_copy_detector_lets_subsets_and_other_numbers_be() -> None:
    source = "\n".join(
        [
            "CITIZENLAB_PROTOCOLS = (Protocol.DNS, Protocol.HTTP, Protocol.TCP)",
            "_KNOWN_OUTCOMES = frozenset({1, 2, 3, 4})",
            'SCHEMES = ("http", "https")',
        ]
    )
    assert _copies_of_the_set(ast.parse(source)) == []
