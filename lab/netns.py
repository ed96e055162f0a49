"""Thin adapter over the kernel: namespaces, veth links, addresses, routes, nftables, processes.

Everything the lab creates is named `vlab-<id>-...` and written to a state file
(`<work dir>/state.json`) *before* it is created, so that `vantage lab down`,
an exception or Ctrl-C can remove it all: `teardown` kills every process
recorded and every process still inside a lab namespace (`ip netns pids`),
then deletes the namespaces (their veth links die with them). Interfaces are
created directly inside the namespaces (`ip -n A link add ... peer ... netns
B`), so none ever appears in the host's namespace and parallel labs cannot
collide. Nothing here routes to or from the host: the lab's traffic stays
inside its namespaces.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from vantage.lab import responders
from vantage.lab.dataplane import RouterState
from vantage.lab.topology import LAN_INTERFACE, AutonomousSystem, Topology

NAME_PREFIX = "vlab-"
# The lab's state directories; /run is a tmpfs, emptied at boot like /run/netns.
DEFAULT_STATE_ROOT = Path("/run/vantage-lab")
# How long a process gets to exit after SIGTERM before SIGKILL (the collector
# flushes SQLite on SIGTERM; a second or two is plenty).
TERMINATE_GRACE_S = 5.0


class LabError(RuntimeError):
    """A step of building or running the lab failed; the message says which command and why."""


@dataclass(slots=True)
class LabState:
    """What one lab has created; saved after every change so cleanup never misses anything."""

    lab_id: str
    work_dir: Path
    topology_path: str = ""
    namespaces: list[str] = field(default_factory=list)
    processes: list[dict[str, object]] = field(default_factory=list)  # {"pid", "namespace", "role"}
    info: dict[str, object] = field(default_factory=dict)  # collector address, data dir, ...

    @property
    def prefix(self) -> str:
        return f"{NAME_PREFIX}{self.lab_id}-"

    @property
    def state_file(self) -> Path:
        return self.work_dir / "state.json"

    def save(self) -> None:
        document = {
            "lab_id": self.lab_id,
            "work_dir": str(self.work_dir),
            "topology_path": self.topology_path,
            "namespaces": self.namespaces,
            "processes": self.processes,
            "info": self.info,
        }
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(temporary, self.state_file)

    @classmethod
    def load(cls, state_file: Path) -> LabState:
        document = json.loads(state_file.read_text(encoding="utf-8"))
        return cls(
            lab_id=document["lab_id"],
            work_dir=Path(document["work_dir"]),
            topology_path=document.get("topology_path", ""),
            namespaces=list(document.get("namespaces", [])),
            processes=list(document.get("processes", [])),
            info=dict(document.get("info", {})),
        )


def router_ns(state: LabState, asn: int) -> str:
    return f"{state.prefix}r{asn}"


def hosts_ns(state: LabState, asn: int) -> str:
    return f"{state.prefix}h{asn}"


def probe_ns(state: LabState, asn: int) -> str:
    return f"{state.prefix}p{asn}"


def collector_ns(state: LabState) -> str:
    return f"{state.prefix}c"


def run_command(argv: Sequence[str], *, stdin: str | None = None, timeout_s: float = 30.0) -> str:
    """Run a command; on failure raise LabError quoting the command and its stderr."""
    try:
        completed = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} is not installed (needed by the lab): {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout_s:g} s") from exc
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()
        raise LabError(f"`{' '.join(argv)}` failed (exit {completed.returncode}): {detail}")
    return completed.stdout


def in_namespace(namespace: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def add_namespace(state: LabState, name: str, *, router: bool) -> None:
    state.namespaces.append(name)
    state.save()  # recorded before it exists: an interruption right after still cleans it
    run_command(["ip", "netns", "add", name])
    sysctls = [
        # No IPv6 autoconfiguration chatter: the lab is IPv4 (198.18.0.0/15).
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    ]
    if router:
        sysctls += [
            "net.ipv4.ip_forward=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            # Unreachable errors must not be rate-limited away: they are the evidence.
            "net.ipv4.icmp_ratelimit=0",
        ]
    run_command(in_namespace(name, ["sysctl", "-q", "-w", *sysctls]))
    run_command(["ip", "-n", name, "link", "set", "lo", "up"])


def batch(namespace: str, commands: Sequence[str], *, force: bool = False) -> None:
    """Several `ip` commands in one process (`ip -batch`), inside a namespace."""
    if commands:
        argv = ["ip", "-n", namespace, *(["-force"] if force else []), "-batch", "-"]
        run_command(argv, stdin="\n".join(commands) + "\n")


def build_network(state: LabState, topology: Topology) -> None:
    """Create every namespace, link, address and base route of the topology."""
    for autonomous_system in topology.ases:
        asn = autonomous_system.asn
        router = router_ns(state, asn)
        add_namespace(state, router, router=True)
        commands = [
            f"link add {LAN_INTERFACE} type bridge",
            f"addr add {autonomous_system.router_address}/24 dev {LAN_INTERFACE}",
            f"link set {LAN_INTERFACE} up",
        ]
        members = [("hosts", hosts_ns(state, asn), [h.address for h in autonomous_system.hosts])]
        if autonomous_system.probe_address:
            members.append(("probe", probe_ns(state, asn), [autonomous_system.probe_address]))
        if asn == topology.collector_asn:
            members.append(("coll", collector_ns(state), [topology.collector_address]))
        for port_name, member, _ in members:
            add_namespace(state, member, router=False)
            commands += [
                f"link add {port_name} type veth peer name eth0 netns {member}",
                f"link set {port_name} master {LAN_INTERFACE}",
                f"link set {port_name} up",
            ]
        batch(router, commands)
        for _, member, addresses in members:
            batch(
                member,
                [
                    *(f"addr add {address}/24 dev eth0" for address in addresses),
                    "link set eth0 up",
                    f"route add default via {autonomous_system.router_address}",
                ],
            )
    for link in topology.links:
        side_a, side_b = router_ns(state, link.asn_a), router_ns(state, link.asn_b)
        batch(
            side_a,
            [
                f"link add {link.interface_on(link.asn_a)} type veth peer name "
                f"{link.interface_on(link.asn_b)} netns {side_b}",
                f"addr add {link.address_a}/{link.prefix_length} dev {link.interface_on(link.asn_a)}",
                f"link set {link.interface_on(link.asn_a)} up",
            ],
        )
        batch(
            side_b,
            [
                f"addr add {link.address_b}/{link.prefix_length} dev {link.interface_on(link.asn_b)}",
                f"link set {link.interface_on(link.asn_b)} up",
            ],
        )


def build_address_space(state: LabState, topology: Topology, plan: responders.ResponderPlan) -> None:
    """Make every address of every AS's host blocks exist in its hosts namespace; load the responders.

    A `local` route for a whole /24 on lo (AnyIP) makes the kernel accept and
    answer every address in it at the cost of one route; the hosts
    namespace's nftables table (lab/responders.py) then drops what is
    addressed to a non-responder and counts the echo requests and replies.
    The AS's router sends its allocation to the hosts namespace (its
    infrastructure /24 stays on the bridge: the more specific route wins).
    """
    for autonomous_system in topology.ases:
        blocks = autonomous_system.space.blocks
        if not blocks:
            continue
        first_host = autonomous_system.hosts[0].address
        batch(
            router_ns(state, autonomous_system.asn),
            [f"route add {autonomous_system.allocation} via {first_host}"],
        )
        hosts = hosts_ns(state, autonomous_system.asn)
        batch(hosts, [f"route add local {block} dev lo" for block in blocks])
        ruleset = responders.space_ruleset(blocks, plan.responders_in(autonomous_system.asn, 0))
        run_command(in_namespace(hosts, ["nft", "-f", "-"]), stdin=ruleset)


def set_responders(state: LabState, autonomous_system: AutonomousSystem, addresses: frozenset[str]) -> None:
    """Replace the set of addresses that answer in the AS's host blocks (one nftables transaction)."""
    run_command(
        in_namespace(hosts_ns(state, autonomous_system.asn), ["nft", "-f", "-"]),
        stdin=responders.responders_update(addresses),
    )


@dataclass(frozen=True, slots=True)
class EchoCounts:
    """What the kernel of one hosts namespace counted since its table was loaded."""

    requests: dict[str, int]  # address -> echo requests received (answered or dropped)
    replies: dict[str, int]  # address -> echo replies sent
    requests_per_block: dict[str, int]  # "198.18.5.0/24" -> echo requests received


def echo_counts(state: LabState, autonomous_system: AutonomousSystem) -> EchoCounts:
    """Read the hosts namespace's nftables counters (`nft -j`)."""
    namespace = hosts_ns(state, autonomous_system.asn)

    def set_counters(name: str) -> dict[str, int]:
        output = run_command(
            in_namespace(namespace, ["nft", "-j", "list", "set", "ip", responders.SPACE_TABLE, name])
        )
        counts: dict[str, int] = {}
        for item in json.loads(output)["nftables"]:
            for element in item.get("set", {}).get("elem", []):
                entry = element["elem"]
                counts[str(entry["val"])] = int(entry["counter"]["packets"])
        return counts

    output = run_command(
        in_namespace(namespace, ["nft", "-j", "list", "counters", "table", "ip", responders.SPACE_TABLE])
    )
    by_name = {
        str(item["counter"]["name"]): int(item["counter"]["packets"])
        for item in json.loads(output)["nftables"]
        if "counter" in item
    }
    return EchoCounts(
        requests=set_counters(responders.REQUESTS_SET),
        replies=set_counters(responders.REPLIES_SET),
        requests_per_block={
            block: by_name.get(responders.block_counter_name(block), 0)
            for block in autonomous_system.space.blocks
        },
    )


def apply_router_state(state: LabState, router: RouterState, *, netem_available: bool) -> None:
    """Reconcile one router's kernel state to `router` (idempotent)."""
    namespace = router_ns(state, router.asn)
    interfaces = _link_interfaces(namespace)
    commands = [f"link set {name} up" for name in interfaces if name not in router.interfaces_down]
    commands += [f"link set {name} down" for name in sorted(router.interfaces_down)]
    for route in router.routes:
        if route.via is None:
            commands.append(f"route replace unreachable {route.prefix}")
        else:
            commands.append(f"route replace {route.prefix} via {route.via}")
    batch(namespace, commands)
    run_command(in_namespace(namespace, ["nft", "-f", "-"]), stdin=router.nft_ruleset)
    if netem_available:
        delayed = dict(router.delays_ms)
        for name in interfaces:
            if name in delayed:
                qdisc = [
                    "tc",
                    "qdisc",
                    "replace",
                    "dev",
                    name,
                    "root",
                    "netem",
                    "delay",
                    f"{delayed[name]}ms",
                ]
                run_command(in_namespace(namespace, qdisc))
            else:
                # Deleting a qdisc that is not there fails; that is the normal case.
                subprocess.run(
                    in_namespace(namespace, ["tc", "qdisc", "del", "dev", name, "root"]),
                    capture_output=True,
                    check=False,
                )


def wait_links_operational(state: LabState, routers: dict[int, RouterState], timeout_s: float = 5.0) -> None:
    """Poll until every link interface that should be up reports operstate UP.

    The kernel applies carrier changes asynchronously (linkwatch, up to about
    a second): until then a just-restored link drops packets. Waiting here
    makes "restored" mean restored.
    """
    deadline = time.monotonic() + timeout_s
    pending = dict(routers)
    while pending:
        for asn, router in list(pending.items()):
            output = run_command(["ip", "-n", router_ns(state, asn), "-br", "link", "show"])
            states = {
                line.split()[0].split("@", 1)[0]: line.split()[1] for line in output.splitlines() if line
            }
            wanted = [name for name in states if name.startswith("to") and name not in router.interfaces_down]
            if all(states[name] == "UP" for name in wanted):
                del pending[asn]
        if pending and time.monotonic() > deadline:
            raise LabError(f"links of AS{', AS'.join(map(str, pending))} not up after {timeout_s:g} s")
        if pending:
            time.sleep(0.05)


def _link_interfaces(namespace: str) -> list[str]:
    output = run_command(["ip", "-n", namespace, "-o", "link", "show"])
    names = []
    for line in output.splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0]
        if name.startswith("to"):
            names.append(name)
    return sorted(names)


def netem_available() -> bool:
    """Whether tc netem (delay) works on this kernel; tested in a throwaway namespace."""
    name = f"{NAME_PREFIX}netem-check-{os.getpid()}"
    try:
        run_command(["ip", "netns", "add", name])
        run_command(["ip", "-n", name, "link", "set", "lo", "up"])
        probe = subprocess.run(
            in_namespace(name, ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]),
            capture_output=True,
            check=False,
        )
        return probe.returncode == 0
    except LabError:
        return False
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def start_process(
    state: LabState,
    namespace: str,
    argv: Sequence[str],
    *,
    role: str,
    log_path: Path,
    stdout: int | IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running process inside a namespace, in its own session, recorded in the state."""
    log = log_path.open("ab")
    try:
        process = subprocess.Popen(
            in_namespace(namespace, argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()
    state.processes.append({"pid": process.pid, "namespace": namespace, "role": role})
    state.save()
    return process


def stop_process(state: LabState, pid: int) -> None:
    _terminate_groups([pid])
    state.processes = [p for p in state.processes if p.get("pid") != pid]
    state.save()


def _terminate_groups(pids: Sequence[int]) -> None:
    alive = []
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
            alive.append(pid)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + TERMINATE_GRACE_S
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _group_exists(pid)]
        if alive:
            time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for pid in pids:
        _reap(pid)


def _group_exists(pgid: int) -> bool:
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    # Our own children become zombies until waited for; a zombie still "exists".
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def namespace_pids(namespace: str) -> list[int]:
    completed = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
    )
    return [int(token) for token in completed.stdout.split() if token.isdigit()]


def teardown(state: LabState, *, remove_files: bool = True) -> list[str]:
    """Remove every process and namespace the lab created; return what could not be removed."""
    problems: list[str] = []
    _terminate_groups([int(str(p["pid"])) for p in state.processes])
    # Anything still inside a lab namespace (children that left their group, strays).
    for namespace in state.namespaces:
        for pid in namespace_pids(namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    existing = set(list_namespaces())
    for namespace in state.namespaces:
        if namespace in existing:
            completed = subprocess.run(
                ["ip", "netns", "del", namespace], capture_output=True, text=True, check=False
            )
            if completed.returncode != 0:
                problems.append(f"namespace {namespace}: {completed.stderr.strip()}")
    state.processes = []
    state.namespaces = [n for n in state.namespaces if n in set(list_namespaces())]
    if remove_files and not problems:
        shutil.rmtree(state.work_dir, ignore_errors=True)
    elif state.work_dir.exists():
        state.save()
    return problems


def list_namespaces() -> list[str]:
    completed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in completed.stdout.splitlines() if line.strip()]


def find_labs(state_root: Path | None = None) -> list[LabState]:
    """The labs whose state files exist (running, or left behind by a crash)."""
    state_root = state_root or DEFAULT_STATE_ROOT
    labs = []
    if state_root.is_dir():
        for state_file in sorted(state_root.glob("*/state.json")):
            try:
                labs.append(LabState.load(state_file))
            except (OSError, ValueError, KeyError):
                continue
    return labs
