"""The systemd units' hardening: exposure scores, and the settings the daemons must survive.

`systemd-analyze security --offline` scores a unit file without installing it;
the bounds below are the scores the units have now, so a change that loosens a
unit fails here. MemoryDenyWriteExecute=yes is checked for real: the kernel's
PR_SET_MDWE (Linux 6.3+) refuses the same writable-and-executable mappings, is
kept across execve, and the daemons' start and an ICMP measurement run under it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

UNITS = REPO_ROOT / "deploy" / "systemd"
# Exposure levels (0 safest .. 10); before issue 20: collector 1.6, probe 1.8.
MAX_EXPOSURE = {"vantage-collector.service": 1.2, "vantage-probe.service": 1.5}
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1


def installed_copy(unit: Path, directory: Path) -> Path:
    # systemd-analyze wants ExecStart to exist; the real path is only there after install.
    copy = directory / unit.name
    copy.write_text(unit.read_text().replace("/opt/vantage/bin/vantage", shutil.which("true") or "/bin/true"))
    return copy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_exposure_score_is_at_most_the_current_one(name: str, tmp_path: Path) -> None:
    unit = installed_copy(UNITS / name, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE[name], result.stdout


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_units_carry_the_hardening_that_applies(name: str) -> None:
    text = (UNITS / name).read_text()
    for setting in (
        "RemoveIPC=yes",
        "ProcSubset=pid",
        "PrivateMounts=yes",
        "MemoryDenyWriteExecute=yes",
        "SystemCallFilter=~@privileged @resources",
        "MemoryMax=",
        "TasksMax=",
    ):
        assert re.search(rf"^{re.escape(setting)}", text, re.MULTILINE), f"{name} lacks {setting}"


def _mdwe_available() -> bool:
    # Tried in a child: the flag cannot be cleared once set.
    call = f"ctypes.CDLL(None).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0)"
    attempt = f"import ctypes, sys; sys.exit({call})"
    return subprocess.run([sys.executable, "-c", attempt], timeout=30).returncode == 0


MDWE_EXEC = (
    "import ctypes, os, sys\n"
    f"assert ctypes.CDLL(None).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) == 0\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def run_without_wx(*argv: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MDWE_EXEC, sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_MDWE is Linux's")
def test_daemons_run_without_writable_executable_memory(tmp_path: Path) -> None:
    if not _mdwe_available():
        pytest.skip(
            "the kernel has no PR_SET_MDWE (Linux < 6.3): MemoryDenyWriteExecute cannot be tried here"
        )
    # Every module the daemons load, and a ctypes callback (a libffi closure).
    imports = run_without_wx(
        "-c",
        "import ctypes, mmap\n"
        "import vantage.probe.daemon.runner, vantage.probe.engine.icmp.recvmmsg\n"
        "import vantage.collector.service.server, numpy, psycopg\n"
        "assert ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 7)() == 7\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "except OSError:\n"
        "    print('refused')\n",
    )
    assert imports.returncode == 0, imports.stderr
    assert imports.stdout.strip() == "refused"  # the flag really was in force
    # An ICMP measurement on loopback (raw socket as root, ping socket elsewhere).
    icmp = run_without_wx("-m", "vantage.cli", "probe", "measure", "icmp", "127.0.0.1")
    assert icmp.returncode == 0 and "Traceback" not in icmp.stderr, icmp.stderr
    assert "127.0.0.1" in icmp.stdout
    if os.geteuid() == 0:
        assert " ok" in icmp.stdout, icmp.stdout
