"""Unusable paths give one line naming the path and what is wrong, never a traceback.

Each case runs the real `vantage` command in a subprocess, as an operator
would. Root ignores file modes, so for the "not writable" cases the command
runs without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER (setpriv),
which makes the kernel apply the modes to it as to any user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

VANTAGE = [sys.executable, "-m", "vantage.cli"]
DROP_DAC = ["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def run_vantage(args: Sequence[str], *, without_dac: bool = False) -> subprocess.CompletedProcess[str]:
    command = [*VANTAGE, *args]
    if without_dac and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: file modes cannot be tested")
        command = [setpriv, *DROP_DAC, *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("vantage: error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def probe_run(state_dir: Path, *extra: str) -> list[str]:
    return [
        "probe",
        "run",
        "--collector=127.0.0.1:9",
        "--enroll-token=unused",
        f"--state-dir={state_dir}",
        *extra,
    ]


def collector_serve(data_dir: Path, *extra: str) -> list[str]:
    return ["collector", "serve", "--listen=127.0.0.1:0", f"--data-dir={data_dir}", *extra]


@pytest.fixture
def locked_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "locked"
    directory.mkdir(mode=0o555)
    directory.chmod(0o555)
    return directory


def test_probe_state_dir_that_cannot_be_created(locked_dir: Path) -> None:
    state = locked_dir / "state"
    result = run_vantage([*probe_run(state), "--plaintext"], without_dac=True)
    assert_one_line(result, "state dir", str(state), "cannot create it", "permission denied")


def test_probe_state_dir_not_writable(locked_dir: Path) -> None:
    result = run_vantage([*probe_run(locked_dir), "--plaintext"], without_dac=True)
    assert_one_line(result, "state dir", str(locked_dir), "not writable")


def test_probe_state_dir_that_is_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    assert_one_line(run_vantage([*probe_run(state), "--plaintext"]), str(state), "not a directory")


def test_probe_unreadable_credential_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    credential = state / "credential.json"
    credential.write_text('{"probe_id": "p", "credential": "c"}')
    credential.chmod(0)
    result = run_vantage([*probe_run(state), "--plaintext"], without_dac=True)
    assert_one_line(result, "credential file", str(credential), "cannot read it")


def test_probe_corrupt_credential_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    credential = state / "credential.json"
    credential.write_text("{not json")
    credential.chmod(0o600)
    assert_one_line(run_vantage([*probe_run(state), "--plaintext"]), str(credential))


def test_probe_missing_ca_file(tmp_path: Path) -> None:
    missing = tmp_path / "ca.crt"
    result = run_vantage(probe_run(tmp_path / "state", f"--ca-file={missing}"))
    assert_one_line(result, "CA file", str(missing), "no such file")


def test_collector_data_dir_that_cannot_be_created(locked_dir: Path) -> None:
    data = locked_dir / "data"
    result = run_vantage([*collector_serve(data), "--plaintext"], without_dac=True)
    assert_one_line(result, "data dir", str(data), "cannot create it")


def test_collector_data_dir_not_writable(locked_dir: Path) -> None:
    result = run_vantage([*collector_serve(locked_dir), "--plaintext"], without_dac=True)
    assert_one_line(result, "data dir", str(locked_dir), "not writable")


def test_collector_unreadable_admin_credential(tmp_path: Path) -> None:
    credential = tmp_path / "admin.credential"
    credential.write_text("vantage-admin-secret\n")
    credential.chmod(0)
    result = run_vantage([*collector_serve(tmp_path), "--plaintext"], without_dac=True)
    assert_one_line(result, "admin credential file", str(credential), "cannot read it")


def test_collector_missing_dataset(tmp_path: Path) -> None:
    missing = tmp_path / "asn-ipv4.csv.gz"
    result = run_vantage([*collector_serve(tmp_path / "data"), "--plaintext", f"--asn-db={missing}"])
    assert_one_line(result, "dataset", str(missing), "no such file")


def test_collector_unreadable_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "asn.csv"
    dataset.write_text("1.0.0.0,1.0.0.255,13335,Example\n")
    dataset.chmod(0)
    result = run_vantage(
        [*collector_serve(tmp_path / "data"), "--plaintext", f"--asn-db={dataset}"], without_dac=True
    )
    assert_one_line(result, "dataset", str(dataset), "cannot read it")


def test_collector_malformed_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "asn.csv"
    dataset.write_text("garbage\n")
    result = run_vantage([*collector_serve(tmp_path / "data"), "--plaintext", f"--asn-db={dataset}"])
    assert_one_line(result, str(dataset))


def test_collector_missing_tls_files_named(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    result = run_vantage(collector_serve(tmp_path / "data", f"--tls-cert={cert}", f"--tls-key={key}"))
    assert_one_line(result, "TLS certificate", str(cert), "no such file")


def test_collector_without_tls_or_plaintext_says_which(tmp_path: Path) -> None:
    result = run_vantage(collector_serve(tmp_path / "data"))
    assert_one_line(result, "--tls-cert", "--plaintext")
