"""`vantage lab simulate` end to end, and the verdict engine's purity (no I/O, clock or randomness)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from vantage.cli import main

VERDICT_DIR = Path(__file__).resolve().parents[3] / "collector" / "verdict"
FORBIDDEN_MODULES = {"socket", "time", "random", "grpc", "sqlite3", "scapy", "os", "subprocess", "asyncio"}
FORBIDDEN_CALLS = {"now", "utcnow", "today"}


def test_simulate_prints_scores_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "simulate", "--ases", "5", "--rounds", "24", "--seed", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rounds"] == 24
    assert document["algorithm_version"].startswith("vantage-verdict/")
    assert [k["kind"] for k in document["kinds"]] == ["outage", "degradation", "filtering"]
    assert {"recall", "precision", "mean_delay_rounds", "max_duration_error_rounds"} <= set(
        document["kinds"][0]
    )


def test_simulate_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["lab", "simulate", "--ases", "4", "--rounds", "12", "--outages", "1", "--throttles", "0"]) == 0
    )
    out = capsys.readouterr().out
    assert "recall" in out and "precision" in out and "outage" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ases", "0"], "--ases must be at least 1"),
        (["--loss", "1.5"], "--loss must be in [0, 1)"),
        (["--min-event-rounds", "5", "--max-event-rounds", "2"], "--min-event-rounds"),
        (["--rounds", "many"], "invalid int value"),
        (["--scenario-mix", "1,2"], "--scenario-mix wants three counts"),
    ],
)
def test_simulate_rejects_bad_arguments_with_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = main(["lab", "simulate", *argv])
    except SystemExit as exc:  # argparse's own checks
        status = int(exc.code or 0)
    assert status == 2
    assert message in capsys.readouterr().err


def test_simulate_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lab", "simulate", "--help"])
    out = capsys.readouterr().out
    assert "vantage lab simulate --ases" in out and "--scenario-mix" in out


def _top_level_imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:  # TYPE_CHECKING blocks are ast.If and are skipped on purpose
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(VERDICT_DIR.glob("*.py")), ids=lambda p: p.name)
def test_verdict_modules_are_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert not _top_level_imports(tree) & FORBIDDEN_MODULES
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in node.body
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.Import, ast.ImportFrom))
            and node.col_offset > 0
            and id(node) not in type_only
        ):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not {n.split(".")[0] for n in names} & FORBIDDEN_MODULES, (
                f"{path.name}: nested import of {names}"
            )
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            pytest.fail(f"{path.name}: reads the clock ({node.attr})")
