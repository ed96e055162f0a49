"""The `vantage` command: one entry point, a subcommand group per part.

Each group lives beside the code it drives and exposes
`register(subparsers) -> None`, which adds its parser and sets
`handler=<function(args) -> int>` on each leaf command. Registration must stay
cheap: heavy imports (scapy, grpc, matplotlib) happen inside the handlers, so
that `vantage --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vantage import __version__
from vantage.cliutil import EXIT_FAILURE, CliError, MissingExtra

# (module, what it adds). Order is the order in `vantage --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "vantage.probe.cli",  # vantage probe ...
    "vantage.collector.cli.collector",  # vantage collector ...
    "vantage.collector.cli.queries",  # vantage status | timeline | watch | probes | coverage
    "vantage.lab.cli",  # vantage lab ...
    "vantage.web.cli",  # vantage web
)

# Which module registers each command word. `vantage probe measure icmp` builds only the
# probe group's parsers: a one-off sweep is timed against fping, start-up included, and
# importing every group and building every parser cost ~30-40 ms of it.
COMMAND_OWNERS: dict[str, str] = {
    "probe": "vantage.probe.cli",
    "collector": "vantage.collector.cli.collector",
    "status": "vantage.collector.cli.queries",
    "timeline": "vantage.collector.cli.queries",
    "watch": "vantage.collector.cli.queries",
    "probes": "vantage.collector.cli.queries",
    "coverage": "vantage.collector.cli.queries",
    "lab": "vantage.lab.cli",
    "web": "vantage.web.cli",
}

DESCRIPTION = """\
Vantage tells, within minutes, when a country or a network (an AS) has been cut
off the Internet or censored, with evidence.

  vantage probe ...        run a probe daemon, or one-off measurements
  vantage collector ...    run a collector, administer probes and targets
  vantage status|timeline|watch|probes|coverage
                           ask a collector what it sees
  vantage lab ...          a mini-Internet in network namespaces, and the demo
  vantage web              the public web site, JSON API, charts and feeds
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command's parser; with `argv` naming a command, only that command's group."""
    command = next((arg for arg in argv if not arg.startswith("-")), None) if argv else None
    modules = (COMMAND_OWNERS[command],) if command in COMMAND_OWNERS else COMMAND_MODULES
    parser = argparse.ArgumentParser(
        prog="vantage",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vantage {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # that part is not built yet: it adds no command
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        return _run(argv)
    except CliError as exc:
        print(f"vantage: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        # An extra that is not installed (the collector's numpy, the lab's matplotlib, ...):
        # one line naming it, wherever the import happened.
        missing = MissingExtra.of(exc)
        if missing is None:
            raise
        print(f"vantage: error: {missing}", file=sys.stderr)
        return missing.exit_code
    except OSError as exc:
        # A file or directory that cannot be used, found where no check caught it first:
        # one line naming it rather than a traceback.
        if exc.filename is None:
            raise
        from vantage.pathcheck import os_error_line

        print(f"vantage: error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("vantage: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str]) -> int:
    parser = build_parser(argv)
    args = None
    if list(argv[:2]) == ["probe", "measure"]:  # a sweep may give 65k targets as arguments
        from vantage.probe.measure.cli import parse_measure_argv

        args = parse_measure_argv(parser, argv)
    if args is None:
        args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # A group without a subcommand: show its help, as git does.
        group_parser = getattr(args, "group_parser", parser)
        group_parser.print_help(sys.stderr)
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
