"""`vantage probe run` argument handling: clear messages and exit status 2, before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from vantage import cli
from vantage.probe.daemon.heartbeat import bounded_interval_s
from vantage.probe.daemon.policy import build_policy, cap_plan


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_help_explains_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["probe", "run", "--help"], capsys)
    assert code == 0
    for text in ("--collector", "--allow-range", "VANTAGE_PROBE_", "--config", "198.18.0.0/15", "example"):
        assert text in out


def test_missing_collector_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run(["probe", "run", "--state-dir", str(tmp_path)], capsys)
    assert code == 2 and "no collector address" in err


def test_bad_value_names_its_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VANTAGE_PROBE_MAX_RATE", "lots")
    code, err = run(["probe", "run", "--collector", "192.0.2.1:7443", "--state-dir", str(tmp_path)], capsys)
    assert code == 2 and "VANTAGE_PROBE_MAX_RATE" in err


def test_config_file_errors_name_the_file_and_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "probe.toml"
    config.write_text('collector = ["192.0.2.1:7443"]\nstate_dir = "/tmp/x"\nmax_rat = 5\n')
    code, err = run(["probe", "run", "--config", str(config)], capsys)
    assert code == 2 and "probe.toml" in err and "max_rat" in err
    config.write_text("collector = [\n")
    code, err = run(["probe", "run", "--config", str(config)], capsys)
    assert code == 2 and "probe.toml" in err
    code, err = run(["probe", "run", "--config", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and "missing.toml" in err


def test_no_credential_and_no_token_says_how_to_enroll(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The collector address is a documentation address and is never contacted:
    # without a token the probe stops before any RPC.
    code, err = run(
        ["probe", "run", "--collector", "192.0.2.1:7443", "--state-dir", str(tmp_path / "s")], capsys
    )
    assert code == 1 and "enrollment token" in err and "token create" in err


def test_plan_cap_and_heartbeat_bounds() -> None:
    policy = build_policy(max_tasks_per_round=100)
    assert cap_plan(50, policy) == 50 and cap_plan(500, policy) == 100
    assert bounded_interval_s(60.0, None) == 60.0
    assert bounded_interval_s(60.0, 0.01) == 5.0  # a collector cannot make the probe chatty
    assert bounded_interval_s(60.0, 10_000.0) == 600.0
    assert bounded_interval_s(1.0, 0.5) == 1.0


def test_metrics_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = ["probe", "run", "--collector", "192.0.2.1:7443", "--state-dir", str(tmp_path / "s")]
        code, err = run([*argv, "--metrics", f"127.0.0.1:{port}"], capsys)
    assert code == 1 and f"cannot serve metrics on 127.0.0.1:{port}" in err


def test_one_probe_per_state_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from vantage.probe.daemon.host import lock_state_dir

    state_dir = tmp_path / "s"
    state_dir.mkdir()
    held = lock_state_dir(state_dir)  # as a running probe would
    try:
        code, err = run(
            ["probe", "run", "--collector", "192.0.2.1:7443", "--state-dir", str(state_dir)], capsys
        )
    finally:
        held.close()
    assert code == 1 and "another probe is running" in err
