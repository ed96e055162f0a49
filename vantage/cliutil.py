"""Helpers shared by the command groups: errors, group parsers, output."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from typing import Any

from vantage.extras import EXTRA_OF_IMPORT, Extra, missing_extra_message

# argparse exits with 2 on bad usage; our handlers use the same code for
# invalid arguments they can only check after parsing, and 1 for failures.
EXIT_USAGE = 2
EXIT_FAILURE = 1


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class MissingExtra(CliError):
    """An optional part of the distribution is not installed; the message names the extra."""

    @classmethod
    def of(cls, error: ModuleNotFoundError) -> MissingExtra | None:
        message = missing_extra_message(error.name)
        return None if message is None else cls(message)


def require_extra(extra: Extra) -> None:
    """Raise MissingExtra unless everything `extra` installs can be found.

    Found, not imported: importing runs a module's side effects, and mrtparse's sets SIGPIPE to
    its default action, after which a write to a pipe whose reader died (an ingest worker killed
    with SIGKILL) kills the collector instead of raising BrokenPipeError. The modules that use
    such a package import it their own way (collector/bgp/mrt_files.py)."""
    for name, owner in EXTRA_OF_IMPORT.items():
        if owner == extra and importlib.util.find_spec(name) is None:
            exc = ModuleNotFoundError(f"No module named {name!r}", name=name)
            raise MissingExtra.of(exc) or CliError(str(exc))


class UsageError(CliError):
    """Invalid arguments detected after parsing (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def add_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_text: str,
    description: str,
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add a command group (`vantage NAME ...`) and return its subparsers.

    Running the group without a subcommand prints the group's help (exit 2).
    """
    group = subparsers.add_parser(
        name, help=help_text, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group.set_defaults(group_parser=group)
    return group.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


def print_json_line(document: Any) -> None:
    """One JSON document per line (for --json output and streams)."""
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
    sys.stdout.flush()
