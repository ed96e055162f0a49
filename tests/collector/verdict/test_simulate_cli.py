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
