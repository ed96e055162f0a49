"""The servers of the lab's target hosts: the kernel answers ICMP, dnsmasq DNS, a real HTTP server HTTP.

One hosts namespace per AS holds all of its target addresses, so one dnsmasq
and one HTTP server per AS serve them all. A scenario's DNS rewrite points
users at a second, lying dnsmasq on their router (started on demand), which
answers every name with the router's own address — as a censor's resolver
answers with a block page.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from vantage.lab.netns import (
    LabError,
    LabState,
    hosts_ns,
    in_namespace,
    router_ns,
    run_command,
    start_process,
)
from vantage.lab.topology import AutonomousSystem

DNSMASQ = "/usr/sbin/dnsmasq"
HTTP_PORT = 80
DNS_PORT = 53
# Services come up in well under a second; 10 s is generous for a loaded machine.
DEFAULT_SERVICE_START_TIMEOUT_S = 10.0


def dnsmasq_argv(
    records: dict[str, str], *, listen_address: str | None = None, lie_with: str | None = None
) -> list[str]:
    """A dnsmasq that knows only the records given (no upstream, no /etc/hosts, no config file)."""
    argv = [
        DNSMASQ,
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-negcache",
        "--log-facility=-",
        f"--port={DNS_PORT}",
    ]
    if listen_address:
        argv += [f"--listen-address={listen_address}", "--bind-interfaces"]
    if lie_with:
        argv.append(f"--address=/#/{lie_with}")
    else:
        # Answer NXDOMAIN (not REFUSED) for other names in the lab's zone.
        argv.append("--local=/lab/")
    for name, address in sorted(records.items()):
        argv.append(f"--address=/{name}/{address}")
    return argv


def start_host_services(state: LabState, autonomous_system: AutonomousSystem) -> None:
    """Start dnsmasq and the HTTP server in the AS's hosts namespace and wait until both answer."""
    if not Path(DNSMASQ).exists():
        raise LabError(
            f"{DNSMASQ} is missing: install the Debian package dnsmasq-base (scripts/setup.sh does)"
        )
    namespace = hosts_ns(state, autonomous_system.asn)
    logs = state.work_dir / "logs"
    logs.mkdir(exist_ok=True)
    records = {host.dns_name: host.address for host in autonomous_system.hosts}
    start_process(
        state,
        namespace,
        dnsmasq_argv(records),
        role="dnsmasq",
        log_path=logs / f"dnsmasq-{autonomous_system.asn}.log",
    )
    sites = [f"--site={host.address}={host.name}" for host in autonomous_system.hosts]
    start_process(
        state,
        namespace,
        [sys.executable, "-m", "vantage.lab.httpd", f"--port={HTTP_PORT}", *sites],
        role="httpd",
        log_path=logs / f"httpd-{autonomous_system.asn}.log",
    )
    wait_listening(namespace, [("udp", DNS_PORT), ("tcp", HTTP_PORT)])


def start_liar_dns(state: LabState, autonomous_system: AutonomousSystem) -> None:
    """The censor's resolver on the AS's router: every name resolves to the router."""
    namespace = router_ns(state, autonomous_system.asn)
    address = autonomous_system.router_address
    argv = dnsmasq_argv({}, listen_address=address, lie_with=address)
    start_process(
        state,
        namespace,
        argv,
        role=f"liar-dns-{autonomous_system.asn}",
        log_path=state.work_dir / "logs" / f"liar-dns-{autonomous_system.asn}.log",
    )
    wait_listening(namespace, [("udp", DNS_PORT)])


def wait_listening(
    namespace: str, sockets: list[tuple[str, int]], timeout_s: float = DEFAULT_SERVICE_START_TIMEOUT_S
) -> None:
    """Poll `ss` in the namespace until every (protocol, port) has a listener."""
    deadline = time.monotonic() + timeout_s
    missing = sockets
    while True:
        listening = run_command(in_namespace(namespace, ["ss", "-H", "-lntu"]))
        missing = [(proto, port) for proto, port in sockets if not _has_listener(listening, proto, port)]
        if not missing:
            return
        if time.monotonic() > deadline:
            wanted = ", ".join(f"{proto}/{port}" for proto, port in missing)
            raise LabError(
                f"in {namespace}: nothing listening on {wanted} after {timeout_s:g} s (see the lab's logs/)"
            )
        time.sleep(0.05)


def _has_listener(ss_output: str, protocol: str, port: int) -> bool:
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == protocol and fields[4].rsplit(":", 1)[-1] == str(port):
            return True
    return False
