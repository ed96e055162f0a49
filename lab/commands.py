"""What `vantage lab up|down|run|demo` do (the CLI module only parses arguments).

Files named on the command line are resolved as paths first, then as the name
of a file shipped in lab/topologies or lab/scenarios. SIGTERM is turned into
the same clean teardown as Ctrl-C.

The site (`--web`, on by default for the demo): the lab's namespaces do not route
to the host, so `vantage web` runs in the host's network namespace — before an
unprivileged run re-executes itself into its own namespaces — and asks the
collector over a unix socket (`vantage collector serve --listen-unix`) in a
private directory of /tmp, which both sides see.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from vantage.cliutil import CliError, UsageError
from vantage.lab import netns, userns
from vantage.lab.experiment import Experiment, print_outcome
from vantage.lab.product import LOCAL_ENDPOINT, Product, vantage_argv
from vantage.lab.scenario import ScenarioError, check_against, load_scenario
from vantage.lab.session import Lab
from vantage.lab.topology import Topology, TopologyError, load_topology

LAB_DIR = Path(__file__).resolve().parent
DEMO_SCENARIO = "kazakhstan-2022"
RESULTS_DIR = Path("vantage-lab-results")
# The collector's unix socket for the site, handed to an unprivileged re-execution of the command.
COLLECTOR_SOCKET_VARIABLE = "VANTAGE_LAB_COLLECTOR_SOCKET"
# `vantage web` is up in a second or two; this bound only stops a broken start from hanging.
WEB_START_TIMEOUT_S = 30.0
WEB_LISTENING = "web listening on "


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


def _check_listen(listen: str | None) -> None:
    """A --web value that cannot be an address is a usage error, before anything is built."""
    if listen is None:
        return
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--web {listen!r}: give HOST:PORT (e.g. 127.0.0.1:8080)")


@contextlib.contextmanager
def _site(listen: str | None) -> Iterator[Path | None]:
    """`vantage web --listen LISTEN` on the host while the block runs; the collector socket it asks.

    Inside an unprivileged re-execution the outer command runs the site: the socket comes from
    the environment. A site that cannot start (the address is taken) is said, and the lab runs
    without it.
    """
    if listen is None:
        yield None
        return
    if userns.inside_user_namespace():
        given = os.environ.get(COLLECTOR_SOCKET_VARIABLE)
        yield Path(given) if given else None
        return
    _terminate_on_sigterm()  # so that the site stops with the command
    directory = Path(tempfile.mkdtemp(prefix="vantage-lab-web-"))  # mode 0700: ours only
    socket = directory / "collector.sock"
    log = directory / "web.log"
    argv = vantage_argv(
        "web", "--listen", listen, "--collector", f"unix:{socket}", "--plaintext", "--title", "Vantage lab"
    )
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = _wait_for_site(process, log)
        if url is None:
            tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:])
            print(f"vantage lab: the web site did not start on {listen}; running without it:\n{tail}")
            yield None
            return
        os.environ[COLLECTOR_SOCKET_VARIABLE] = str(socket)
        _progress(f"web site: {url} (vantage web; its pages fill in once the collector is up)")
        yield socket
    finally:
        os.environ.pop(COLLECTOR_SOCKET_VARIABLE, None)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_site(process: subprocess.Popen[bytes], log: Path) -> str | None:
    """The site's URL once `vantage web` says it listens; None if it exits or stays silent."""
    deadline = time.monotonic() + WEB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(WEB_LISTENING):
                return line.removeprefix(WEB_LISTENING).split()[0]
        if process.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def _build(
    topology: Topology, topology_path: Path, *, collector_socket: Path | None = None
) -> tuple[Lab, Product]:
    try:
        lab = Lab.create(topology, topology_path=str(topology_path))
    except netns.LabError as exc:
        raise CliError(f"the lab cannot run here: {exc}") from exc
    product = Product(lab, collector_socket=collector_socket)
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
    scenario_name: str,
    *,
    topology: str | None,
    lab_id: str | None,
    chart: Path | None,
    plain: bool,
    web: str | None = None,
) -> int:
    # Arguments first (exit 2 on a bad file, whatever the privileges), then privileges.
    scenario_path = resolve(scenario_name, "scenarios")
    try:
        scenario = load_scenario(scenario_path)
        if lab_id is None:
            check_against(scenario, _load_topology(topology or scenario.topology, scenario_path.parent)[0])
    except ScenarioError as exc:
        raise UsageError(str(exc)) from exc
    _check_listen(web)
    if web is not None and lab_id is not None:
        raise UsageError(
            "--web serves a lab this command builds; a running lab's collector has no socket for the site"
        )
    with _site(web) as collector_socket:
        return _run_scenario(scenario_path, topology, lab_id, chart, plain, collector_socket)


def _run_scenario(
    scenario_path: Path,
    topology: str | None,
    lab_id: str | None,
    chart: Path | None,
    plain: bool,
    collector_socket: Path | None,
) -> int:
    scenario = load_scenario(scenario_path)
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
        lab, product = _build(loaded, topology_path, collector_socket=collector_socket)
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


def lab_demo(*, chart: Path | None, plain: bool, web: str | None = None) -> int:
    _check_listen(web)
    with _site(web) as collector_socket:
        return _demo(chart, plain, collector_socket)


def _demo(chart: Path | None, plain: bool, collector_socket: Path | None) -> int:
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
    _run_scenario(resolve(DEMO_SCENARIO, "scenarios"), None, None, chart, plain, collector_socket)
    return 0
