"""`vantage lab ...`: a mini-Internet in network namespaces, staged shutdowns, the demo."""

from __future__ import annotations

import argparse
import contextlib
import importlib
from pathlib import Path

from vantage.cliutil import add_group


def _shipped(folder: str) -> list[str]:
    """The names of the files shipped in lab/FOLDER (lab/commands.py resolves them)."""
    return sorted(path.stem for path in (Path(__file__).parent / folder).glob("*.toml"))


LAB_DESCRIPTION = """\
The network-namespace lab: a small Internet of ASes in several countries built
from network namespaces, veth links and static routes or real BGP (addresses in
198.18.0.0/15, never routed outside), with real target servers (the kernel for
ICMP, dnsmasq for DNS, an HTTP server), a real collector and real probes started
through the normal `vantage` commands. Scenarios cut, throttle and filter it on
a timeline; the lab compares what the collector reports with what was staged.

Needs root (network namespaces, nftables). Everything it creates is named
vlab-<id>-... and removed by `vantage lab down`, on errors and on Ctrl-C.

  vantage lab demo                       Kazakhstan, January 2022, in a few minutes
                                         (watch it at http://127.0.0.1:8080/)
  vantage lab run acceptance             a shipped scenario (or a file)
  vantage lab up --topology default      build a lab and leave it running
  vantage lab down                       remove it
"""
# Where the demo serves the public site (`vantage web`), on the host, loopback only.
DEMO_WEB_LISTEN = "127.0.0.1:8080"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = add_group(
        subparsers,
        "lab",
        "a mini-Internet in network namespaces, staged shutdowns, the demo",
        LAB_DESCRIPTION,
    )

    up = lab.add_parser(
        "up",
        help="build a lab (namespaces, servers, collector, probes) and leave it running",
        description=(
            "Build the topology's namespaces, links and target servers, start a collector and the probes "
            "through the vantage CLI, and leave everything running until `vantage lab down`.\n\n"
            "Example:\n  vantage lab up --topology default\n"
            "  ip netns exec vlab-<id>-c vantage status --collector 127.0.0.1:7443 --plaintext"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "--topology",
        default="default",
        metavar="FILE",
        help="a topology TOML file, or the name of a shipped one: default, small (default: default)",
    )
    up.set_defaults(handler=_handle_up)

    down = lab.add_parser(
        "down",
        help="remove a lab: every process, namespace and link it created",
        description="Remove the labs recorded under /run/vantage-lab (all of them, or --id ID).",
    )
    down.add_argument("--id", dest="lab_id", metavar="ID", help="only this lab (the id in vlab-<id>-...)")
    down.set_defaults(handler=_handle_down)

    run = lab.add_parser(
        "run",
        help="run a scenario and compare detected events with the staged truth",
        description=(
            "Run a scenario in a fresh lab built from the scenario's topology and removed afterwards, or "
            "with --id in a lab left running by `vantage lab up`. Prints a live table, then each "
            "detected event beside the staged truth with its detection delay, and writes a PNG chart. "
            "Exit status 0 when every required event was detected and nothing false was, 1 otherwise.\n\n"
            "Example:\n  vantage lab run acceptance\n"
            "  vantage lab run my-scenario.toml --topology my-topology.toml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "scenario",
        metavar="SCENARIO",
        help=f"a scenario TOML file or a shipped name ({', '.join(_shipped('scenarios'))})",
    )
    run.add_argument(
        "--topology", metavar="FILE", help="override the scenario's topology (file or shipped name)"
    )
    run.add_argument("--id", dest="lab_id", metavar="ID", help="run in this running lab")
    run.add_argument(
        "--web",
        metavar="HOST:PORT",
        help="also serve the public site (`vantage web`) on this host address while the lab runs",
    )
    _output_options(run)
    run.set_defaults(handler=_handle_run)

    demo = lab.add_parser(
        "demo",
        help="the demo: Kazakhstan, January 2022, staged and caught live (a few minutes)",
        description=(
            "Build the default topology (9 ASes in 4 countries, 5 probes, 3-second rounds), find its "
            "targets by discovery (a census of every country's address space, in which only a sparse, "
            "seeded set of hosts answers), run the kazakhstan-2022 scenario (mobile operators throttled "
            "then cut, the national cut, a brief return, dark again, selective restoration with "
            "filtering), show the collector's view live, "
            "then each detected event beside the staged truth and a chart. Everything is removed at the end."
        ),
    )
    site = demo.add_mutually_exclusive_group()
    site.add_argument(
        "--web",
        metavar="HOST:PORT",
        default=DEMO_WEB_LISTEN,
        help=f"serve the public site (`vantage web`) here while the demo runs (default {DEMO_WEB_LISTEN})",
    )
    site.add_argument("--no-web", dest="web", action="store_const", const=None, help="no web site")
    _output_options(demo)
    demo.set_defaults(handler=_handle_demo)

    # `vantage lab simulate` belongs to the verdict engine (engineer C), when it exists.
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module("vantage.lab.simulate_cli").register(lab)


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chart",
        metavar="FILE",
        type=Path,
        help="where to write the PNG chart (default: vantage-lab-results/<scenario>-<time>.png)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="print one line per change instead of redrawing a table (default on a non-terminal)",
    )


def _handle_up(args: argparse.Namespace) -> int:
    from vantage.lab.commands import lab_up

    return lab_up(args.topology)


def _handle_down(args: argparse.Namespace) -> int:
    from vantage.lab.commands import lab_down

    return lab_down(args.lab_id)


def _handle_run(args: argparse.Namespace) -> int:
    from vantage.lab.commands import lab_run

    return lab_run(
        args.scenario,
        topology=args.topology,
        lab_id=args.lab_id,
        chart=args.chart,
        plain=args.plain,
        web=args.web,
    )


def _handle_demo(args: argparse.Namespace) -> int:
    from vantage.lab.commands import lab_demo

    return lab_demo(chart=args.chart, plain=args.plain, web=args.web)
