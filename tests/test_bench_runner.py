"""`python -m bench`: lists and selects the scripts in bench/ without running them on --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_list_is_the_directory_and_help_runs_nothing() -> None:
    listed = run_bench("--list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_"))
    assert all(len(line.split()) > 1 for line in listed.stdout.splitlines())  # each says what it is
    helped = run_bench("--help")
    assert helped.returncode == 0 and "===" not in helped.stdout


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    refused = run_bench("verdict", "no_such_bench")
    assert refused.returncode == 2 and "===" not in refused.stdout
    assert "no such benchmark: no_such_bench" in refused.stderr and "verdict" in refused.stderr
