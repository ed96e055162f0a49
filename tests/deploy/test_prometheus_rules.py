"""The shipped Prometheus configuration and alert rules, checked and unit-tested by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules" / "vantage.rules.yml"
RULE_TESTS = PROMETHEUS_DIR / "rules" / "vantage.rules.test.yml"

pytestmark = pytest.mark.prometheus


def promtool(*args: str | Path, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return subprocess.run(
        [executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 rules found" in result.stdout


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_can_fail(tmp_path: Path) -> None:
    # The same tests against rules whose AS-down alert waits 10 minutes must fail.
    slow = RULES.read_text().replace(
        "expr: vantage_as_status == 3\n        for: 1m", "expr: vantage_as_status == 3\n        for: 10m"
    )
    assert slow != RULES.read_text()
    (tmp_path / "vantage.rules.yml").write_text(slow)
    (tmp_path / "vantage.rules.test.yml").write_text(RULE_TESTS.read_text())
    result = promtool("test", "rules", "vantage.rules.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "VantageAsDown" in result.stdout + result.stderr


def test_scrape_config_passes_promtool_check() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # The rule glob must pick up the rules and not the unit tests beside them.
    assert "1 rule files found" in result.stdout + result.stderr


def test_probe_targets_example_is_valid_file_sd(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    example = PROMETHEUS_DIR / "targets" / "probes.example.json"
    config.write_text(
        f"scrape_configs:\n  - job_name: vantage-probe\n    file_sd_configs:\n      - files: ['{example}']\n"
    )
    result = promtool("check", "config", config, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
