"""Pure core, I/O at the edges (docs/purity.md), checked from its one declaration.

pyproject.toml's [tool.vantage.purity] names the edge and wire modules; every other module
under vantage/ is pure. This reads each module's imports from its source (at any depth,
TYPE_CHECKING blocks aside) and checks it against its class, so a new module is checked
the day it is written, without being listed anywhere.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "vantage"
GENERATED = "vantage.v1"  # protobuf's output, not ours
PURE, WIRE, EDGE = "pure", "wire", "edge"


@dataclass(frozen=True, slots=True)
class Declaration:
    forbidden: tuple[str, ...]
    wire_imports: tuple[str, ...]
    clock_calls: frozenset[str]
    wire: tuple[str, ...]
    wire_edges: tuple[str, ...]
    edges: tuple[str, ...]
    allowed: dict[str, tuple[str, ...]]


@cache
def declaration() -> Declaration:
    table = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["vantage"]
    purity = table["purity"]
    return Declaration(
        forbidden=tuple(purity["forbidden"]),
        wire_imports=tuple(purity["wire_imports"]),
        clock_calls=frozenset(purity["clock_calls"]),
        wire=tuple(purity["wire"]),
        wire_edges=tuple(purity["wire_edges"]),
        edges=tuple(purity["edges"]),
        allowed={module: tuple(names) for module, names in purity.get("allowed", {}).items()},
    )


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name, through the links (vantage/probe -> ../probe)."""
    found: dict[str, Path] = {}
    for folder, subfolders, files in os.walk(PACKAGE_DIR, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        package = ".".join(Path(folder).relative_to(PACKAGE_DIR.parent).parts)
        if package == GENERATED or package.startswith(GENERATED + "."):
            continue
        for name in files:
            if name.endswith(".py"):
                stem = name.removesuffix(".py")
                found[package if stem == "__init__" else f"{package}.{stem}"] = Path(folder) / name
    return found


def matches(module: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns)


def kind_of(module: str) -> str:
    rules = declaration()
    if matches(module, rules.edges):
        return EDGE
    if matches(module, rules.wire):
        return WIRE
    return PURE


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@dataclass(frozen=True, slots=True)
class Imports:
    names: frozenset[str]  # every dotted name imported: `from a import b` gives a and a.b
    internal: frozenset[str]  # the package's own modules those resolve to
    calls: frozenset[str]  # attribute names called, e.g. "now" for datetime.now()


def _deepest_module(name: str) -> str | None:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


@cache
def imports_of(module: str) -> Imports:
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    internal: set[str | None] = set()
    calls: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                internal.add(_deepest_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            for alias in node.names:
                names.add(f"{base}.{alias.name}")
                # `from package import module` depends on that module, not on the package's __init__.
                submodule = f"{base}.{alias.name}"
                internal.add(submodule if submodule in modules() else _deepest_module(base))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.add(node.func.attr)
    internal.discard(None)
    internal.discard(module)
    return Imports(frozenset(names), frozenset(name for name in internal if name), frozenset(calls))


def problems(module: str) -> list[str]:
    """Why `module` breaks the rule of its kind (empty when it keeps it)."""
    rules = declaration()
    kind = kind_of(module)
    found = imports_of(module)
    if kind == EDGE:
        if matches(module, rules.wire_edges):
            return []
        return [
            f"{module} (edge) imports {name}, but only wire modules and wire_edges handle protobuf"
            for name in sorted(found.names)
            if under(name, rules.wire_imports)
        ]
    allowed = (*rules.allowed.get(module, ()), *(rules.wire_imports if kind == WIRE else ()))
    reasons = [
        f"{module} ({kind}) imports {name}"
        for name in sorted(found.names)
        if under(name, rules.forbidden) and not under(name, allowed)
    ]
    reasons += [
        f"{module} ({kind}) reads the clock: .{call}()" for call in sorted(found.calls & rules.clock_calls)
    ]
    permitted = {PURE} if kind == PURE else {PURE, WIRE}
    reasons += [
        f"{module} ({kind}) imports {dependency}, which is {kind_of(dependency)}"
        for dependency in sorted(found.internal)
        if kind_of(dependency) not in permitted
    ]
    return reasons


def checked_modules() -> list[str]:
    return sorted(modules())


@pytest.mark.parametrize("module", checked_modules())
def test_module_keeps_the_rule_of_its_kind(module: str) -> None:
    assert not problems(module), "\n".join(problems(module))


def test_the_pure_core_is_most_of_the_package() -> None:
    # The walk must see the real tree through the links; a broken walk would check nothing.
    kinds = [kind_of(module) for module in modules()]
    assert len(kinds) > 120, len(kinds)
    assert kinds.count(PURE) >= 70, kinds.count(PURE)
    for module in (
        "vantage.collector.verdict.engine",
        "vantage.collector.assignment.plan",
        "vantage.probe.engine.icmp.session",
        "vantage.probe.daemon.scheduler",
        "vantage.lab.scenario",
    ):
        assert kind_of(module) == PURE, module
    assert kind_of("vantage.collector.wire.validation") == WIRE


def test_every_pattern_names_a_module() -> None:
    rules = declaration()
    for pattern in (*rules.edges, *rules.wire, *rules.wire_edges):
        assert any(fnmatch.fnmatchcase(module, pattern) for module in modules()), f"{pattern} matches nothing"
    for pattern in rules.wire_edges:
        for module in modules():
            if fnmatch.fnmatchcase(module, pattern):
                assert kind_of(module) == EDGE, f"{module} is in wire_edges but is not an edge"
    for module, names in rules.allowed.items():
        assert kind_of(module) == PURE, f"{module} is allowed {names} but is not pure"
        assert all(any(under(i, (n,)) for i in imports_of(module).names) for n in names), (
            f"{module} no longer imports all of {names}: drop them from [tool.vantage.purity.allowed]"
        )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import socket\n", "imports socket"),
        ("def f():\n    import time\n", "imports time"),
        ("from urllib.request import urlopen\n", "imports urllib.request"),
        ("from datetime import datetime\nNOW = datetime.now()\n", "reads the clock: .now()"),
        ("from vantage.v1 import measurement_pb2\n", "imports vantage.v1"),
        ("from vantage.probe.engine import engine\n", "which is edge"),
        ("from vantage.probe.convert import task_from_wire\n", "which is wire"),
    ],
)
def test_the_check_catches_what_it_forbids(tmp_path: Path, source: str, expected: str) -> None:
    # A pure module written the wrong way is caught (the check can fail).
    path = tmp_path / "newly_written.py"
    path.write_text(source, encoding="utf-8")
    modules()["vantage.collector.newly_written"] = path
    try:
        assert any(expected in reason for reason in problems("vantage.collector.newly_written"))
    finally:
        del modules()["vantage.collector.newly_written"]
        imports_of.cache_clear()


def test_a_typing_only_import_is_not_a_dependency(tmp_path: Path) -> None:
    path = tmp_path / "typed.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import grpc\n", encoding="utf-8"
    )
    modules()["vantage.collector.typed"] = path
    try:
        assert problems("vantage.collector.typed") == []
    finally:
        del modules()["vantage.collector.typed"]
        imports_of.cache_clear()
