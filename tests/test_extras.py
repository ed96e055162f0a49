"""The base install is a probe's; a missing extra gets one line naming it (vantage/extras.py).

The extras' modules are made unimportable in a child interpreter (None in sys.modules makes
`import numpy` raise ModuleNotFoundError, as on a machine without it), so these run in the
test environment, which has every extra installed.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from vantage.cliutil import MissingExtra
from vantage.extras import EXTRA_OF_IMPORT

BLOCK_AND_RUN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from vantage.cli import main
sys.exit(main(sys.argv[2:]))
"""
EVERY_EXTRA = ",".join(sorted(EXTRA_OF_IMPORT))


def vantage_without(blocked: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_AND_RUN, blocked, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["probe", "run", "--help"], ["probe", "measure", "icmp", "--help"], ["status", "--help"]],
    ids=" ".join,
)
def test_commands_answer_without_any_extra(argv: list[str]) -> None:
    result = vantage_without(EVERY_EXTRA, *argv)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_every_probe_module_imports_without_any_extra() -> None:
    probe_modules = sorted(
        path.relative_to(REPO_ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
        for path in (REPO_ROOT / "probe").rglob("*.py")
    )
    assert len(probe_modules) > 40
    script = "import importlib, sys\n"
    script += "".join(f"sys.modules[{name!r}] = None\n" for name in sorted(EXTRA_OF_IMPORT))
    script += "".join(f"importlib.import_module('vantage.{name}')\n" for name in probe_modules)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_collector_without_numpy_names_the_collector_extra(tmp_path: Path) -> None:
    result = vantage_without(
        "numpy", "collector", "serve", "--data-dir", str(tmp_path), "--listen", "127.0.0.1:0", "--plaintext"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "vantage: error: the collector needs numpy: pip install 'vantage[collector]'"
    ]


def test_postgres_storage_without_psycopg_names_the_postgres_extra(tmp_path: Path) -> None:
    result = vantage_without(
        "psycopg,psycopg_pool",
        "collector",
        "serve",
        "--data-dir",
        str(tmp_path),
        "--db",
        "postgresql://vantage@127.0.0.1:1/vantage",
        "--listen",
        "127.0.0.1:0",
        "--plaintext",
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].endswith(
        "PostgreSQL storage needs psycopg: pip install 'vantage[postgres]'"
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_the_chart_without_matplotlib_names_the_lab_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vantage.lab.chart import write_chart

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError) as raised:
        write_chart(
            tmp_path / "chart.png", title="t", countries=(), ases=(), spans=(), duration_s=1, round_seconds=1
        )
    assert str(MissingExtra.of(raised.value)) == "the lab needs matplotlib: pip install 'vantage[lab]'"


def test_an_unrelated_missing_module_is_not_called_an_extra() -> None:
    assert MissingExtra.of(ModuleNotFoundError("no module", name="nonexistent_module")) is None


def _project() -> dict[str, object]:
    document = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project: dict[str, object] = document["project"]
    return project


def test_every_extra_named_in_messages_exists_in_pyproject() -> None:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    for module, extra in EXTRA_OF_IMPORT.items():
        assert extra.name in extras, f"{module} belongs to vantage[{extra.name}], which pyproject lacks"
    assert {"collector", "lab", "postgres", "all", "dev"} <= set(extras)


def test_the_base_install_carries_no_collector_lab_or_test_dependency() -> None:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    names = {entry.split(">")[0].split("[")[0].split("=")[0].strip().lower() for entry in dependencies}
    heavy = {"numpy", "matplotlib", "psycopg", "psycopg-pool", "scapy"}
    heavy |= {"grpcio-health-checking", "grpcio-reflection"}
    assert not names & heavy, names & heavy
