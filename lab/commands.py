"""What `vantage lab up|down|run|demo` do (the CLI module only parses arguments).

Files named on the command line are resolved as paths first, then as the name
of a file shipped in lab/topologies or lab/scenarios. SIGTERM is turned into
the same clean teardown as Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from vantage.cliutil import CliError, UsageError
from vantage.lab import netns, userns
from vantage.lab.experiment import Experiment, print_outcome
from vantage.lab.product import LOCAL_ENDPOINT, Product
from vantage.lab.scenario import ScenarioError, check_against, load_scenario
from vantage.lab.session import Lab
from vantage.lab.topology import Topology, TopologyError, load_topology

LAB_DIR = Path(__file__).resolve().parent
DEMO_SCENARIO = "kazakhstan-2022"
RESULTS_DIR = Path("vantage-lab-results")


def resolve(name: str, folder: str, base: Path | None = None) -> Path:
    candidates = [Path(name)]
    if base is not None:
        candidates.append(base / name)
    candidates.append(LAB_DIR / folder / f"{name}.toml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in (LAB_DIR / folder).glob("*.toml"))
    raise UsageError(
        f"no such file {name!r}, and no shipped {folder[:-1]} of that name ({', '.join(shipped)})"
    )


def _load_topology(name: str, base: Path | None = None) -> tuple[Topology, Path]:
    path = resolve(name, "topologies", base)
    try:
        return load_topology(path), path
    except TopologyError as exc:
        raise UsageError(str(exc)) from exc


def _terminate_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


_PRIVATE_RUN_MOUNTED: list[bool] = []


def _unprivileged_status() -> int | None:
    """Without root: the exit status of this command re-run in user namespaces; as root: None."""
    if os.geteuid() != 0:
        try:
            return userns.rerun_unprivileged(sys.argv[1:])
        except netns.LabError as exc:
            raise CliError(f"the lab cannot run here: {exc}") from exc
    if userns.inside_user_namespace() and not _PRIVATE_RUN_MOUNTED:
        userns.private_run_directory()
        _PRIVATE_RUN_MOUNTED.append(True)
    return None


def _progress(message: str) -> None:
    print(f"==> {message}", flush=True)


def _build(topology: Topology, topology_path: Path) -> tuple[Lab, Product]:
    try:
        lab = Lab.create(topology, topology_path=str(topology_path))
    except netns.LabError as exc:
        raise CliError(f"the lab cannot run here: {exc}") from exc
    product = Product(lab)
    try:
        started = time.monotonic()
        _progress(
            f"building lab {lab.state.lab_id}: {len(topology.ases)} ASes "
            f"in {len(topology.countries)} countries "
            f"({', '.join(topology.countries)}), {len(topology.links)} links"
        )
        lab.network_up()
        lab.start_flapping()
        product.deploy(progress=_progress)
        _progress(f"lab {lab.state.lab_id} up in {time.monotonic() - started:.1f} s")
    except BaseException:
        lab.down(keep_files=True)
        print(f"vantage lab: logs kept in {lab.state.work_dir / 'logs'}", file=sys.stderr)
        raise
    return lab, product


def lab_up(topology_name: str) -> int:
    if os.geteuid() != 0:
        raise CliError(
            "`vantage lab up` needs root: a lab left running must outlive this command, and an unprivileged "
            "lab lives inside user namespaces that die with it. Use sudo, or `vantage lab run`/`demo`, which "
            "run without root where the kernel allows unprivileged user namespaces."
        )
    _terminate_on_sigterm()
    topology, path = _load_topology(topology_name)
    try:
        lab, _ = _build(topology, path)
    except netns.LabError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"lab {lab.state.lab_id} is up; collector at {topology.collector_address}:7443 (in namespace "
        f"{netns.collector_ns(lab.state)})"
    )
    print(
        f"  ip netns exec {netns.collector_ns(lab.state)} "
        f"vantage status --collector {LOCAL_ENDPOINT} --plaintext"
    )
    print(f"  vantage lab run SCENARIO --id {lab.state.lab_id}")
    print(f"  vantage lab down --id {lab.state.lab_id}")
    return 0


def lab_down(lab_id: str | None) -> int:
    labs = [lab for lab in netns.find_labs() if lab_id is None or lab.lab_id == lab_id]
    if not labs:
        print("no lab is running" + (f" with id {lab_id}" if lab_id else ""))
        return 0 if lab_id is None else 1
    status = 0
    for state in labs:
        problems = netns.teardown(state)
        if problems:
            status = 1
            print(f"lab {state.lab_id}: could not remove: {'; '.join(problems)}", file=sys.stderr)
        else:
            print(f"lab {state.lab_id} removed")
    return status


def _running_lab(lab_id: str) -> tuple[Lab, Product]:
    labs = [lab for lab in netns.find_labs() if lab.lab_id == lab_id]
    if not labs or not labs[0].info.get("collector"):
        raise UsageError(f"no running lab with id {lab_id} (see `vantage lab up`)")
    state = labs[0]
    topology, _ = _load_topology(state.topology_path)
    if state.info.get("routing") == "bgp":  # built for a scenario that asked for BGP
        topology = replace(topology, routing="bgp")
    lab = Lab(state, topology)
    return lab, Product(lab)


def lab_run(
    scenario_name: str, *, topology: str | None, lab_id: str | None, chart: Path | None, plain: bool
) -> int:
    # Arguments first (exit 2 on a bad file, whatever the privileges), then privileges.
    scenario_path = resolve(scenario_name, "scenarios")
    try:
        scenario = load_scenario(scenario_path)
        if lab_id is None:
            check_against(scenario, _load_topology(topology or scenario.topology, scenario_path.parent)[0])
    except ScenarioError as exc:
        raise UsageError(str(exc)) from exc
    status = _unprivileged_status()
    if status is not None:
        return status
    _terminate_on_sigterm()
    running = _running_lab(lab_id) if lab_id else None
    if running is None:
        loaded, topology_path = _load_topology(topology or scenario.topology, scenario_path.parent)
        if scenario.routing:
            loaded = replace(loaded, routing=scenario.routing)
    else:
        loaded, topology_path = running[0].topology, Path(running[0].state.topology_path)
        if scenario.routing and scenario.routing != loaded.routing:
            raise UsageError(
                f"{scenario_path}: the scenario needs {scenario.routing} routing; lab "
                f"{running[0].state.lab_id} routes {loaded.routing} (start a new lab for it)"
            )
    try:
        check_against(scenario, loaded)
    except ScenarioError as exc:
        raise UsageError(f"{scenario_path}: {exc}") from exc
    chart_path = chart or RESULTS_DIR / f"{scenario.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}.png"
    interactive = sys.stdout.isatty() and not plain
    if running is not None:
        lab, product = running
        _progress(f"running {scenario.name} in lab {lab.state.lab_id}")
        return _run(lab, product, scenario_path, chart_path, interactive)
    try:
        lab, product = _build(loaded, topology_path)
    except netns.LabError as exc:
        raise CliError(str(exc)) from exc
    with lab:
        return _run(lab, product, scenario_path, chart_path, interactive)


def _run(lab: Lab, product: Product, scenario_path: Path, chart_path: Path, interactive: bool) -> int:
    scenario = load_scenario(scenario_path)
    _progress(f"scenario {scenario.name}: {scenario.description} ({scenario.duration_s:g} s after warm-up)")
    try:
        outcome = Experiment(
            lab, product, scenario, stream=sys.stdout, interactive=interactive, chart_path=chart_path
        ).run()
    except netns.LabError as exc:
        raise CliError(f"{exc}\n(logs: {lab.state.work_dir / 'logs'})") from exc
    print_outcome(outcome, sys.stdout)
    return 0 if outcome.report.passed else 1


def lab_demo(*, chart: Path | None, plain: bool) -> int:
    status = _unprivileged_status()
    if status is not None:
        return status
    print(
        "Vantage demo: Kazakhstan, January 2022, staged in network namespaces on this machine.\n"
        "A small Internet (9 ASes in 4 countries) with real servers, a real collector and 5 real probes.\n"
        "No target list: each AS owns a few /24s in which only a sparse, seeded set of hosts answers,\n"
        "and the collector finds them by discovery (a census of every country) before the staging.\n"
        "Then the mobile operators are throttled then cut, the country goes dark, comes back briefly for\n"
        "the president's address, goes dark again, then returns with only some sites reachable.\n",
        flush=True,
    )
    lab_run(DEMO_SCENARIO, topology=None, lab_id=None, chart=chart, plain=plain)
    return 0
