"""`vantage collector ...`: run a collector, administer probes and targets."""

from __future__ import annotations

import argparse

from vantage.cliutil import add_group


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_group(
        subparsers,
        "collector",
        "run a collector, administer probes and targets",
        "run a collector, administer probes and targets.\n\nNo commands yet: this group is being built.",
    )
