"""The packaging files (systemd units, container files) are well-formed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def _units() -> list[Path]:
    return sorted((REPO_ROOT / "deploy" / "systemd").glob("*.service"))


def test_both_units_exist() -> None:
    assert {unit.name for unit in _units()} == {"vantage-probe.service", "vantage-collector.service"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; the real path is only there after install.
    for unit in _units():
        text = unit.read_text().replace("/opt/vantage/bin/vantage", shutil.which("true") or "/bin/true")
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(path) for path in sorted(tmp_path.glob("*.service")))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def _settings(unit: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().replace("\\\n", " ").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_probe_unit_runs_unprivileged_with_only_net_raw() -> None:
    settings = _settings(REPO_ROOT / "deploy" / "systemd" / "vantage-probe.service")
    assert settings["User"] == ["vantage-probe"]
    assert settings["AmbientCapabilities"] == ["CAP_NET_RAW"]
    assert settings["CapabilityBoundingSet"] == ["CAP_NET_RAW"]
    assert settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["StateDirectory"] == ["vantage-probe"]
    assert "--state-dir ${STATE_DIRECTORY}" in settings["ExecStart"][0]


def test_collector_unit_has_no_capabilities() -> None:
    settings = _settings(REPO_ROOT / "deploy" / "systemd" / "vantage-collector.service")
    assert settings["CapabilityBoundingSet"] == [""] and settings["User"] == ["vantage"]
    assert "collector serve" in settings["ExecStart"][0]


@pytest.mark.parametrize(
    ("name", "uid"), [("Containerfile.probe", 10002), ("Containerfile.collector", 10001)]
)
def test_containerfiles_are_multi_stage_and_non_root(name: str, uid: int) -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "deploy" / "container" / name).read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [line.split()[0] for line in lines]
    known = {
        "ARG",
        "FROM",
        "WORKDIR",
        "COPY",
        "RUN",
        "ENV",
        "USER",
        "VOLUME",
        "EXPOSE",
        "STOPSIGNAL",
        "ENTRYPOINT",
        "CMD",
    }
    assert set(instructions) <= known, set(instructions) - known
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    assert any(line.startswith("COPY --from=build ") for line in lines)
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] == f"USER {uid}:{uid}"
    assert lines.index(users[-1]) > lines.index(froms[1])
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:  # every source; the last word is the destination
                assert (REPO_ROOT / source).exists(), f"{name} copies missing {source}"
    assert re.search(r'^ENTRYPOINT \["vantage"\]$', "\n".join(lines), re.MULTILINE)


@pytest.mark.parametrize(
    ("name", "install"),
    [("Containerfile.probe", "."), ("Containerfile.collector", "'.[collector,postgres]'")],
)
def test_containerfiles_install_the_extras_their_part_needs(name: str, install: str) -> None:
    # The probe runs on volunteers' machines: the base install only (pyproject.toml's dependencies).
    text = (REPO_ROOT / "deploy" / "container" / name).read_text()
    installs = re.findall(r"pip install [^\n]*?--no-cache-dir (\S+)(?: \\)?$", text, re.MULTILINE)
    assert installs == [install], installs
