"""Running the lab's BGP: a BIRD 2 per router, ExaBGP as route collector, and waiting for convergence.

Everything lives in `<lab work dir>/bgp/`: each router's configuration
(`r<ASN>.conf`) and control socket (`r<ASN>.ctl`, the one `birdc -s` talks
to), ExaBGP's configuration, the capture of what the collector heard
(`updates.jsonl`) and the socket the collector's route feed listens on
(`feed.sock`, when the "relay" process is configured). The daemons are lab
processes (lab/netns.py records them), so teardown ends them with the rest.
The plans come from lab/bgp.py; this module writes them, runs `birdc
configure` where one changed, and polls `birdc` and the kernels until what
lab/bgp.py expects is there, within a bound, naming the AS that is not.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vantage.lab import bgp, netns
from vantage.lab.scenario import Action
from vantage.lab.topology import LAN_INTERFACE, Topology

BIRD = "bird"
BIRDC = "birdc"
EXABGP = "exabgp"
# Sessions with 1 s timers come up in 1-3 s and a withdrawal spreads in milliseconds; 30 s is
# generous for a loaded 2-core machine running several labs.
DEFAULT_CONVERGENCE_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2
ROUTE_COLLECTOR_PORT = "rcol"


def route_collector_ns(state: netns.LabState) -> str:
    return f"{state.prefix}rc"


def missing_commands() -> list[str]:
    return [command for command in (BIRD, BIRDC, EXABGP) if shutil.which(command) is None]


class BgpRouting:
    """The BGP daemons of one lab and the reconciling of their configurations."""

    def __init__(
        self,
        state: netns.LabState,
        topology: Topology,
        feed_processes: Sequence[str] = bgp.DEFAULT_FEED_PROCESSES,
    ) -> None:
        self.state = state
        self.topology = topology
        self.feed_processes = tuple(feed_processes)
        self.directory = state.work_dir / "bgp"

    @property
    def capture_path(self) -> Path:
        """Every JSON line ExaBGP emitted (the "capture" process's file)."""
        return self.directory / "updates.jsonl"

    @property
    def feed_socket_path(self) -> Path:
        """Where the collector's route feed listens (`--bgp-source exabgp:unix:PATH`) for the relay."""
        return self.directory / "feed.sock"

    def control_socket(self, asn: int) -> Path:
        return self.directory / f"r{asn}.ctl"

    def start(self) -> None:
        """Start the route collector and every router's BIRD (routes come with `converge`)."""
        missing = missing_commands()
        if missing:
            raise netns.LabError(
                f"BGP routing needs {', '.join(missing)} (Debian packages bird2, exabgp; scripts/setup.sh)"
            )
        self.directory.mkdir(exist_ok=True)
        self.state.info["routing"] = "bgp"
        self.state.info["bgp_dir"] = str(self.directory)
        self.state.info["bgp_feed_socket"] = str(self.feed_socket_path)
        self._start_route_collector()
        plan = bgp.policies(self.topology, ())
        for autonomous_system in self.topology.ases:
            asn = autonomous_system.asn
            config = self.directory / f"r{asn}.conf"
            config.write_text(bgp.bird_config(self.topology, plan[asn]), encoding="utf-8")
            netns.start_process(
                self.state,
                netns.router_ns(self.state, asn),
                [BIRD, "-f", "-c", str(config), "-s", str(self.control_socket(asn))],
                role=f"bird-{asn}",
                log_path=self.state.work_dir / "logs" / f"bird-{asn}.log",
            )
        self._wait(lambda: [asn for asn in self._asns() if not self.control_socket(asn).exists()], "BIRD")

    def _start_route_collector(self) -> None:
        namespace = route_collector_ns(self.state)
        collector = self.topology.as_by_number(self.topology.collector_asn)
        netns.add_namespace(self.state, namespace, router=False)
        netns.batch(
            netns.router_ns(self.state, collector.asn),
            [
                f"link add {ROUTE_COLLECTOR_PORT} type veth peer name eth0 netns {namespace}",
                f"link set {ROUTE_COLLECTOR_PORT} master {LAN_INTERFACE}",
                f"link set {ROUTE_COLLECTOR_PORT} up",
            ],
        )
        netns.batch(
            namespace,
            [
                f"addr add {self.topology.route_collector_address}/24 dev eth0",
                "link set eth0 up",
                f"route add default via {collector.router_address}",
            ],
        )
        self._start_exabgp()

    def restart_route_collector(self, feed_processes: Sequence[str], active: tuple[Action, ...] = ()) -> None:
        """Run ExaBGP again with other feed processes (e.g. once the collector listens for the relay).

        Every router's session to it drops and comes back (within a few
        seconds: connect retry 1 s), and each sends its whole table again.
        """
        for process in list(self.state.processes):
            if process.get("role") == "exabgp":
                netns.stop_process(self.state, int(str(process["pid"])))
        # Wait for the old sessions to be gone (ExaBGP says Cease on SIGTERM; else the hold time
        # ends them), so that the convergence below sees the new ones.
        self._wait(
            lambda: [a for a in self._asns() if bgp.ROUTE_COLLECTOR_PROTOCOL in self.established(a)],
            "closing the route collector's sessions",
        )
        self.feed_processes = tuple(feed_processes)
        self._start_exabgp()
        self.converge(active)

    def _start_exabgp(self) -> None:
        namespace = route_collector_ns(self.state)
        processes = {
            name: bgp.feed_process_argv(
                name,
                python=sys.executable,
                capture_path=str(self.capture_path),
                socket_path=str(self.feed_socket_path),
            )
            for name in self.feed_processes
        }
        config = self.directory / "exabgp.conf"
        config.write_text(bgp.exabgp_config(self.topology, processes), encoding="utf-8")
        environment = [
            f"{key}={value}" for key, value in sorted(bgp.exabgp_environment(self.topology).items())
        ]
        netns.start_process(
            self.state,
            namespace,
            ["env", *environment, EXABGP, str(config)],
            role="exabgp",
            log_path=self.state.work_dir / "logs" / "exabgp.log",
        )

    def apply(self, active: tuple[Action, ...], *, timeout_s: float = DEFAULT_CONVERGENCE_TIMEOUT_S) -> None:
        """Rewrite every router's configuration, reload the changed ones, wait until BGP has converged."""
        plan = bgp.policies(self.topology, active)
        for asn in self._asns():
            config = self.directory / f"r{asn}.conf"
            wanted = bgp.bird_config(self.topology, plan[asn])
            if config.read_text(encoding="utf-8") != wanted:
                config.write_text(wanted, encoding="utf-8")
                output = self.birdc(asn, "configure")
                if "Reconfigured" not in output and "Reconfiguration in progress" not in output:
                    raise netns.LabError(f"AS{asn}: birdc configure did not take {config}: {output.strip()}")
        self.converge(active, timeout_s=timeout_s)

    def converge(
        self, active: tuple[Action, ...], *, timeout_s: float = DEFAULT_CONVERGENCE_TIMEOUT_S
    ) -> None:
        """Poll until every expected session is up and every kernel holds exactly the expected routes."""
        sessions = bgp.expected_sessions(self.topology, active) or {}
        prefixes = bgp.expected_prefixes(self.topology, active)
        avoided = bgp.avoided_routes(self.topology, active)
        self._wait(lambda: self._differences(sessions, prefixes, avoided), "BGP", timeout_s=timeout_s)

    def _differences(
        self,
        sessions: dict[int, frozenset[str]],
        prefixes: dict[int, frozenset[str]],
        avoided: dict[int, frozenset[tuple[str, str]]],
    ) -> list[str]:
        problems = []
        for asn in self._asns():
            established = self.established(asn)
            down = sorted(sessions.get(asn, frozenset()) - established)
            if down:
                problems.append(f"AS{asn}: sessions not established: {', '.join(down)}")
                continue
            routes = self.kernel_routes(asn)
            missing = sorted(prefixes[asn] - set(routes))
            extra = sorted(set(routes) - prefixes[asn])
            avoid = sorted(prefix for prefix, device in avoided[asn] if routes.get(prefix) == device)
            if missing or extra or avoid:
                problems.append(
                    f"AS{asn}: routes missing {missing or '-'}, unexpected {extra or '-'}, "
                    f"still over a less preferred link {avoid or '-'}"
                )
        return problems

    def established(self, asn: int) -> frozenset[str]:
        """The router's BGP protocols in state Established (`birdc show protocols`)."""
        names = set()
        for line in self.birdc(asn, "show protocols").splitlines():
            fields = line.split()
            if len(fields) >= 6 and fields[1] == "BGP" and fields[-1] == "Established":
                names.add(fields[0])
        return frozenset(names)

    def kernel_routes(self, asn: int) -> dict[str, str]:
        """The routes BIRD put in the router's kernel: prefix -> outgoing interface."""
        output = netns.run_command(
            ["ip", "-n", netns.router_ns(self.state, asn), "-j", "route", "show", "proto", "bird"]
        )
        return {str(route["dst"]): str(route.get("dev", "")) for route in json.loads(output or "[]")}

    def birdc(self, asn: int, command: str) -> str:
        return netns.run_command([BIRDC, "-s", str(self.control_socket(asn)), *command.split()])

    def mrt_dump(self, asn: int, path: Path) -> None:
        """Write the router's routing table as an MRT TABLE_DUMP_V2 file (BIRD's `mrt dump`)."""
        netns.run_command(
            [
                BIRDC,
                "-s",
                str(self.control_socket(asn)),
                "mrt",
                "dump",
                "table",
                '"master4"',
                "to",
                f'"{path}"',
            ]
        )

    def _asns(self) -> list[int]:
        return [a.asn for a in self.topology.ases]

    def _wait(
        self,
        problems_now: Callable[[], Sequence[object]],
        what: str,
        *,
        timeout_s: float = DEFAULT_CONVERGENCE_TIMEOUT_S,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            problems = problems_now()
            if not problems:
                return
            if time.monotonic() > deadline:
                listed = "; ".join(str(problem) for problem in problems)
                logs = self.state.work_dir / "logs"
                raise netns.LabError(
                    f"{what} did not converge within {timeout_s:g} s: {listed} (see {logs}/)"
                )
            time.sleep(POLL_INTERVAL_S)
