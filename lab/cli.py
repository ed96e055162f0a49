"""`vantage lab ...`: a mini-Internet in network namespaces, staged shutdowns, the demo."""

from __future__ import annotations

import argparse

from vantage.cliutil import add_group


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_group(
        subparsers,
        "lab",
        "a mini-Internet in network namespaces, staged shutdowns, the demo",
        "The network-namespace lab.\n\nNo commands yet: this group is being built.",
    )
