"""`vantage lab simulate` end to end (the verdict engine's purity is checked by tests/test_purity.py)."""

from __future__ import annotations

import json

import pytest

from vantage.cli import main


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


def test_simulate_scores_the_inside_view_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["lab", "simulate", "--ases", "5", "--rounds", "30", "--seed", "2", "--scenario-mix", "0,1,0"]
    argv += ["--inside-share", "1", "--inside-probes", "5,6", "--disconnections", "1", "--late-uploads", "1"]
    assert main([*argv, "--poisoners", "1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["poisoners"] == 1 and document["poisoned_as_rounds"] > 0
    assert {"recall", "precision", "false_events", "events"} <= set(document["probes_disconnected"])
    late = document["late_uploads"]
    assert late["cuts"] == 1 and late["timeline_mismatches"] == 0
    assert (late["events_revised"], late["events_duplicated"]) == (1, 0)


def test_simulate_prints_the_inside_view(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["lab", "simulate", "--ases", "4", "--rounds", "20", "--scenario-mix", "0,0,0"]
    assert main([*argv, "--inside-share", "1", "--late-uploads", "1", "--poisoners", "1"]) == 0
    out = capsys.readouterr().out
    assert "probes disconnected:" in out and "late uploads: 1 cuts" in out and "poisoners: 1" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--inside-probes", "5"], "--inside-probes wants two counts"),
        (["--inside-probes", "4,2"], "--inside-probes needs 1 <= MIN <= MAX"),
        (["--disconnections", "2", "--inside-probes", "1,2"], "--disconnections needs ASes with at least 3"),
        (["--poisoners", "30"], "--poisoners together cannot exceed --outside-probes"),
        (["--late-uploads", "-1"], "--late-uploads must not be negative"),
        (["--inside-share", "2"], "--inside-share must be in [0, 1]"),
    ],
)
def test_simulate_rejects_bad_inside_view_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "simulate", *argv]) == 2
    assert message in capsys.readouterr().err


def test_simulate_help_describes_the_inside_view(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lab", "simulate", "--help"])
    out = capsys.readouterr().out
    for option in ("--poisoners", "--inside-probes", "--disconnections", "--late-uploads"):
        assert option in out
