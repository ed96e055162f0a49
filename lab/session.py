"""One lab's lifetime: preflight, build the network and services, reconcile actions, tear down.

`Lab.create()` allocates an id and a work directory and records the state
before anything exists; `Lab.network_up()` builds namespaces, links, routes,
the host blocks (every address exists, the planned responders answer) and
the target hosts' servers; `Lab.apply(active)` reconciles every router to the
actions in force; `Lab.start_flapping()` starts the process that loads each
flap period's responders as its time comes; `Lab.down()` removes everything. Used
as a context manager, it tears down on any exception and on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from vantage.lab import netns, routing, services
from vantage.lab.dataplane import RouterState, desired_state
from vantage.lab.responders import FLAP_PATTERN_PERIODS, ResponderPlan, plan_responders
from vantage.lab.scenario import Action
from vantage.lab.topology import Topology

REQUIRED_COMMANDS = ("ip", "nft", "ss", "sysctl")


def preflight() -> None:
    """Say exactly why the lab cannot run here, before creating anything."""
    if os.geteuid() != 0:
        raise netns.LabError(
            "the lab needs root (or root of a user namespace: see vantage.lab.userns): it creates network "
            "namespaces (ip netns), veth links and nftables rules. Run it with sudo."
        )
    missing = [command for command in REQUIRED_COMMANDS if shutil.which(command) is None]
    if missing:
        raise netns.LabError(
            f"missing commands: {', '.join(missing)} (Debian packages iproute2, nftables, procps; "
            "scripts/setup.sh installs them)"
        )
    if not Path(services.DNSMASQ).exists():
        raise netns.LabError(f"{services.DNSMASQ} is missing (Debian package dnsmasq-base; scripts/setup.sh)")


class Lab:
    def __init__(self, state: netns.LabState, topology: Topology) -> None:
        self.state = state
        self.topology = topology
        self._applied: dict[int, RouterState] = {}
        self._netem: bool | None = None
        self.responder_plan: ResponderPlan = plan_responders(topology, random.Random(topology.seed))
        # With `routing = "bgp"`, BIRD routes and ExaBGP hears the routers (lab/routing.py).
        self.routing = routing.BgpRouting(state, topology) if topology.routing == "bgp" else None

    @classmethod
    def create(cls, topology: Topology, *, topology_path: str = "", state_root: Path | None = None) -> Lab:
        preflight()
        root = state_root or netns.DEFAULT_STATE_ROOT
        lab_id = secrets.token_hex(2)
        work_dir = root / lab_id
        work_dir.mkdir(parents=True, exist_ok=False)
        (work_dir / "logs").mkdir()
        state = netns.LabState(lab_id=lab_id, work_dir=work_dir, topology_path=topology_path)
        state.save()
        return cls(state, topology)

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.down(keep_files=kind is not None)

    def network_up(self) -> None:
        """Namespaces, links, base routes and the target hosts' servers."""
        netns.build_network(self.state, self.topology)
        if self.routing is not None:
            self.routing.start()
        self.apply(())
        netns.build_address_space(self.state, self.topology, self.responder_plan)
        for autonomous_system in self.topology.ases:
            services.start_host_services(self.state, autonomous_system)

    def load_period(self, period: int) -> None:
        """Load the responders of flap period `period` now (tests step through periods by hand)."""
        for autonomous_system in self.topology.ases:
            if autonomous_system.space.blocks:
                wanted = self.responder_plan.responders_in(autonomous_system.asn, period)
                netns.set_responders(self.state, autonomous_system, wanted)

    def start_flapping(self) -> None:
        """Start the lab's flapper process (lab/flapper.py): from now on each flap period loads itself."""
        flapping = [a for a in self.topology.ases if any(b.flapping for b in self.responder_plan.of(a.asn))]
        if not flapping or any(p.get("role") == "flapper" for p in self.state.processes):
            return
        schedule = {
            "flap_seconds": self.responder_plan.flap_seconds,
            "namespaces": {
                netns.hosts_ns(self.state, a.asn): [
                    sorted(self.responder_plan.responders_in(a.asn, period))
                    for period in range(FLAP_PATTERN_PERIODS)
                ]
                for a in flapping
            },
        }
        schedule_file = self.state.work_dir / "flapping.json"
        schedule_file.write_text(json.dumps(schedule, indent=1), encoding="utf-8")
        netns.start_process(
            self.state,
            netns.collector_ns(self.state),
            [sys.executable, "-m", "vantage.lab.flapper", str(schedule_file)],
            role="flapper",
            log_path=self.state.work_dir / "logs" / "flapper.log",
        )

    def needs_netem(self, actions: tuple[Action, ...]) -> None:
        if any(action.kind == "delay" for action in actions) and not self.netem_available:
            raise netns.LabError(
                "this scenario adds delay, which needs the sch_netem kernel module (tc netem); "
                "this kernel has none. Use loss (nftables) instead, or a kernel with netem."
            )

    @property
    def netem_available(self) -> bool:
        if self._netem is None:
            self._netem = netns.netem_available()
        return self._netem

    def apply(self, active: tuple[Action, ...]) -> None:
        """Reconcile every router whose desired state changed."""
        wanted = desired_state(self.topology, active)
        uses_delay = any(action.kind == "delay" for action in active)
        links_restored = changed = False
        for asn, router in wanted.items():
            previous = self._applied.get(asn)
            if previous == router:
                continue
            changed = True
            links_restored |= previous is None or bool(previous.interfaces_down - router.interfaces_down)
            netns.apply_router_state(
                self.state,
                router,
                netem_available=uses_delay or bool(previous and previous.delays_ms),
            )
            if router.runs_liar_dns and not (previous and previous.runs_liar_dns):
                self._start_liar(asn)
            self._applied[asn] = router
        if links_restored:
            netns.wait_links_operational(self.state, self._expected_operational(wanted))
        if changed:
            # Neighbours left unresolved by a cut (failed, incomplete) would hold the first packets after it.
            for asn in wanted:
                netns.run_command(["ip", "-n", netns.router_ns(self.state, asn), "neigh", "flush", "all"])
        if self.routing is not None:
            self.routing.apply(active)  # and wait until BGP has converged to it

    def _expected_operational(self, wanted: dict[int, RouterState]) -> dict[int, RouterState]:
        """`wanted` with each link's far end counted as down when its near end is: a veth whose peer
        is down has no carrier and never comes UP, so waiting for it would time out (a lab's first
        apply, or a restore while another AS stays cut, waits on every link)."""
        expected = {}
        for asn, router in wanted.items():
            far_ends_down = {
                link.interface_on(asn)
                for link in self.topology.links_of(asn)
                if link.interface_on(link.peer_of(asn)) in wanted[link.peer_of(asn)].interfaces_down
            }
            expected[asn] = replace(router, interfaces_down=router.interfaces_down | far_ends_down)
        return expected

    def _start_liar(self, asn: int) -> None:
        role = f"liar-dns-{asn}"
        if not any(process.get("role") == role for process in self.state.processes):
            services.start_liar_dns(self.state, self.topology.as_by_number(asn))

    def down(self, *, keep_files: bool = False) -> list[str]:
        problems = netns.teardown(self.state, remove_files=not keep_files)
        if problems:
            print("vantage lab: could not remove: " + "; ".join(problems), file=sys.stderr)
        return problems
