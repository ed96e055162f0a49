"""`vantage lab` arguments and privilege errors (nothing is built in these tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vantage import cli
from vantage.lab import userns
from vantage.lab.netns import LabError


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["lab", "--help"])
    out = capsys.readouterr().out
    for command in ("up", "down", "run", "demo"):
        assert command in out


def test_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "run", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert "no such file 'no-such-scenario'" in err and "kazakhstan-2022" in err


def test_bad_scenario_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('duration_seconds = 10\n[[action]]\nat = 1\ndo = "cut"\nas = 64999\n')
    assert cli.main(["lab", "run", str(scenario), "--topology", "small"]) == 2
    assert "AS64999 is not in topology 'small'" in capsys.readouterr().err


def test_up_without_root_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert cli.main(["lab", "up"]) == 1
    assert "needs root" in capsys.readouterr().err


def test_refused_user_namespaces_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # Faked: a kernel that refuses user namespaces cannot be staged from inside a test.
    def refuse(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "unshare: unshare failed: Operation not permitted")

    monkeypatch.setattr(userns.subprocess, "run", refuse)
    with pytest.raises(LabError, match=r"refuses unprivileged user namespaces.*Operation not permitted"):
        userns.check_available()


@pytest.mark.parametrize("web", ["8080", "127.0.0.1:port", ":8080", "127.0.0.1:99999"])
def test_a_bad_web_address_is_a_usage_error(web: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "demo", "--web", web]) == 2
    assert f"--web {web!r}: give HOST:PORT" in capsys.readouterr().err
