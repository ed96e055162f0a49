"""`vantage probe ...`: run a probe daemon, or one-off measurements."""

from __future__ import annotations

import argparse

from vantage.cliutil import add_group
from vantage.probe.daemon.cli import register_run
from vantage.probe.measure.cli import register_measure


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    probe_subparsers = add_group(
        subparsers,
        "probe",
        "run a probe daemon, or one-off measurements",
        "run a probe daemon (`run`), or one-off measurements (`measure`).",
    )
    register_measure(probe_subparsers)
    register_run(probe_subparsers)
