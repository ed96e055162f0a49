"""One lab's lifetime: preflight, build the network and services, reconcile actions, tear down.

`Lab.create()` allocates an id and a work directory and records the state
before anything exists; `Lab.network_up()` builds namespaces, links, routes,
the host blocks (every address exists, the planned responders answer) and
the target hosts' servers; `Lab.apply(active)` reconciles every router to the
actions in force; `Lab.start_flapping()` starts a thread that loads each flap
period's responders as its time comes; `Lab.down()` removes everything. Used
as a context manager, it tears down on any exception and on Ctrl-C.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from vantage.lab import netns, services
from vantage.lab.dataplane import RouterState, desired_state
from vantage.lab.responders import ResponderPlan, plan_responders
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
        self._period_loaded: dict[int, frozenset[str]] = {}
        self._flapping_stop = threading.Event()
        self._flapping: threading.Thread | None = None

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
        self.apply(())
        netns.build_address_space(self.state, self.topology, self.responder_plan)
        self._period_loaded = {a.asn: self.responder_plan.responders_in(a.asn, 0) for a in self.topology.ases}
        for autonomous_system in self.topology.ases:
            services.start_host_services(self.state, autonomous_system)

    def load_period(self, period: int) -> None:
        """Make the responders of flap period `period` the ones that answer (only ASes whose set changes)."""
        for autonomous_system in self.topology.ases:
            if not autonomous_system.space.blocks:
                continue
            wanted = self.responder_plan.responders_in(autonomous_system.asn, period)
            if self._period_loaded.get(autonomous_system.asn) != wanted:
                netns.set_responders(self.state, autonomous_system, wanted)
                self._period_loaded[autonomous_system.asn] = wanted

    def start_flapping(self, clock: Callable[[], float] = time.monotonic) -> None:
        """From now on, load each flap period's responders when it begins (period 0 is now)."""
        if self._flapping is not None or not any(b.flapping for b in self.responder_plan.blocks):
            return
        started = clock()
        period_s = self.responder_plan.flap_seconds

        def follow() -> None:
            period = 0
            while not self._flapping_stop.wait(max(0.0, started + (period + 1) * period_s - clock())):
                period = self.responder_plan.period_at(clock() - started)
                try:
                    self.load_period(period)
                except netns.LabError:
                    if self._flapping_stop.is_set():
                        return  # the lab is being torn down under us
                    raise

        self._flapping = threading.Thread(target=follow, name="vlab-flapping", daemon=True)
        self._flapping.start()

    def stop_flapping(self) -> None:
        self._flapping_stop.set()
        if self._flapping is not None:
            self._flapping.join(timeout=10)
            self._flapping = None

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
            netns.wait_links_operational(self.state, wanted)
        if changed:
            # Neighbours left unresolved by a cut (failed, incomplete) would hold the first packets after it.
            for asn in wanted:
                netns.run_command(["ip", "-n", netns.router_ns(self.state, asn), "neigh", "flush", "all"])

    def _start_liar(self, asn: int) -> None:
        role = f"liar-dns-{asn}"
        if not any(process.get("role") == role for process in self.state.processes):
            services.start_liar_dns(self.state, self.topology.as_by_number(asn))

    def down(self, *, keep_files: bool = False) -> list[str]:
        self.stop_flapping()
        problems = netns.teardown(self.state, remove_files=not keep_files)
        if problems:
            print("vantage lab: could not remove: " + "; ".join(problems), file=sys.stderr)
        return problems
