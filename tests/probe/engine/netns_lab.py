"""A two-namespace lab for the probe's tests and benchmark: probe <-veth-> target.

    probe namespace (vtpa-XXXX-p)  198.19.0.1/30, fd00:0:0:1::1   routes 198.18.0.0/16 and
                                                                 fd00:0:0:2::/64 to the target
    target namespace (vtpa-XXXX-t) 198.19.0.2/30, fd00:0:0:1::2   `ip route add local
                                                                 198.18.0.0/16 dev lo`: the kernel
                                                                 answers ICMP for the whole /16

Staged failures (nftables in the target namespace, see RULESET) and servers (dnsmasq, the
HTTP/HTTPS and DNS servers of lab_servers.py) live in the target namespace; measurements run
in the probe namespace through `ip netns exec`. Nothing leaves these namespaces: they have no
route anywhere else. `close()` kills every process started here and deletes both namespaces.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VANTAGE = str(Path(sys.executable).with_name("vantage"))
DNSMASQ = "/usr/sbin/dnsmasq"

# Addresses (all inside the benchmarking range 198.18.0.0/15 or ULA fd00::/8).
PROBE_V4, TARGET_V4 = "198.19.0.1", "198.19.0.2"
PROBE_V6, TARGET_V6 = "fd00:0:0:1::1", "fd00:0:0:1::2"
DNS_SERVER = "198.18.0.53"  # dnsmasq
LYING_DNS = "198.18.0.54"  # lab_servers.py dns: lies, SERVFAILs, sends malformed answers
HIJACKED_DNS = "198.18.0.55"  # DNAT'ed by the target's firewall to LYING_DNS
NO_TCP_DNS = "198.18.0.56"  # dnsmasq again, with TCP/53 reset by the firewall
WEB = "198.18.0.80"  # HTTP :80, HTTPS :443, :82 (RST injected after the request)
WEB_NAME = "www.lab.test"
WEB_V6 = "fd00:0:0:2::80"  # the same HTTP/HTTPS servers over IPv6
DROPPED_NET = "198.18.1.0/24"
HOST_UNREACHABLE_NET = "198.18.2.0/24"
PROHIBITED_NET = "198.18.3.0/24"
NET_UNREACHABLE_NET = "198.18.4.0/24"
DUPLICATING_NET = "198.18.5.0/24"
LOOPING_NET = "198.18.6.0/24"  # bounced between the namespaces until the TTL runs out
V6_PROHIBITED = "fd00:0:0:2::dead"
V6_DROPPED = "fd00:0:0:2::beef"

RULESET = """
table inet vtpa {
  chain pre {
    type nat hook prerouting priority dstnat;
    ip daddr 198.18.0.55 udp dport 53 dnat ip to 198.18.0.54
  }
  chain no_tcp_dns {
    type filter hook input priority -10;
    ip daddr 198.18.0.56 tcp dport 53 reject with tcp reset
  }
  chain in {
    type filter hook input priority 0;
    ip daddr 198.18.1.0/24 drop
    ip daddr 198.18.2.0/24 reject with icmp type host-unreachable
    ip daddr 198.18.3.0/24 reject with icmp type admin-prohibited
    ip daddr 198.18.4.0/24 reject with icmp type net-unreachable
    ip6 daddr fd00:0:0:2::dead reject with icmpv6 type admin-prohibited
    ip6 daddr fd00:0:0:2::beef drop
    tcp dport 81 reject with tcp reset
    tcp dport 82 tcp flags & psh == psh reject with tcp reset
  }
}
table ip vtpa_dup {
  chain out {
    type filter hook output priority 0;
    ip saddr 198.18.5.0/24 icmp type echo-reply dup to 198.19.0.1 device "DEVICE"
  }
}
"""


def run(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _wait_ready(process: subprocess.Popen[str], what: str, deadline_s: float = 10.0) -> None:
    """Wait (bounded) for a server's "ready" line."""
    assert process.stdout is not None
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = process.stdout.readline()
        if line.strip() == "ready":
            return
        if process.poll() is not None:
            break
    raise RuntimeError(f"{what} did not start (exit {process.poll()})")


@dataclass
class ProbeLab:
    workdir: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def probe_ns(self) -> str:
        return f"vtpa-{self.tag}-p"

    @property
    def target_ns(self) -> str:
        return f"vtpa-{self.tag}-t"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    # ------------------------------------------------------------ topology

    @property
    def netns_etc(self) -> Path:
        """`ip netns exec` mounts the files here over /etc: the probe's resolv.conf is the lab's."""
        return Path("/etc/netns") / self.probe_ns

    def build_network(self, stage_failures: bool = True) -> None:
        p, t = self.probe_ns, self.target_ns
        # Names the probe namespace resolves go to the lab's dnsmasq, never to the host's resolver.
        self.netns_etc.mkdir(parents=True, exist_ok=True)
        (self.netns_etc / "resolv.conf").write_text(
            f"nameserver {DNS_SERVER}\noptions timeout:1 attempts:1\n"
        )
        veth_p, veth_t = f"vtpa{self.tag}p", f"vtpa{self.tag}t"
        run("ip", "netns", "add", p)
        run("ip", "netns", "add", t)
        run("ip", "-n", p, "link", "add", veth_p, "type", "veth", "peer", "name", veth_t, "netns", t)
        for ns, dev, v4, v6 in ((p, veth_p, PROBE_V4, PROBE_V6), (t, veth_t, TARGET_V4, TARGET_V6)):
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "addr", "add", f"{v4}/30", "dev", dev)
            run("ip", "-n", ns, "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad")
            run("ip", "-n", ns, "link", "set", dev, "up")
            for setting in (
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv6.icmp.ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=1000000",
                # The global ICMP error budget refills once a jiffy, at most `burst` at a time
                # (default 50): a sweep at full speed meets hundreds of rejected targets at once.
                "net.ipv4.icmp_msgs_burst=100000",
                "net.ipv4.ip_forward=1",
            ):
                run("ip", "netns", "exec", ns, "sysctl", "-qw", setting, check=False)
        run("ip", "-n", p, "route", "add", "198.18.0.0/16", "via", TARGET_V4)
        run("ip", "-n", p, "-6", "route", "add", "fd00:0:0:2::/64", "via", TARGET_V6)
        run("ip", "-n", t, "route", "add", "local", "198.18.0.0/16", "dev", "lo")
        run("ip", "-n", t, "-6", "route", "add", "local", "fd00:0:0:2::/64", "dev", "lo")
        for address in (DNS_SERVER, LYING_DNS, HIJACKED_DNS, NO_TCP_DNS, WEB):
            run("ip", "-n", t, "addr", "add", f"{address}/32", "dev", "lo")
        if not stage_failures:  # the benchmark: the whole /16 answers
            return
        run("ip", "-n", t, "route", "add", LOOPING_NET, "via", PROBE_V4)
        # The probe namespace must forward its own packets when they come back from the loop.
        for setting in ("all", veth_p):
            run("ip", "netns", "exec", p, "sysctl", "-qw", f"net.ipv4.conf.{setting}.accept_local=1")
            run("ip", "netns", "exec", p, "sysctl", "-qw", f"net.ipv4.conf.{setting}.rp_filter=0")
        ruleset = self.workdir / "ruleset.nft"
        ruleset.write_text(RULESET.replace("DEVICE", veth_t))
        run("ip", "netns", "exec", t, "nft", "-f", str(ruleset))

    def start_servers(self) -> None:
        self._make_certificates()
        self.spawn(
            "http server",
            [
                sys.executable,
                str(HERE / "lab_servers.py"),
                "http",
                "--port",
                "80",
                "--extra-port",
                "82",
                "--tls-port",
                "443",
                "--cert",
                str(self.workdir / "server.pem"),
                "--key",
                str(self.workdir / "server.key"),
            ],
        )
        self.spawn("closer", [sys.executable, str(HERE / "lab_servers.py"), "closer", "--listen", WEB])
        self.spawn("lying dns", [sys.executable, str(HERE / "lab_servers.py"), "dns", "--listen", LYING_DNS])
        long_txt = ",".join(c * 200 for c in "abc")  # ≈ 650 bytes: over 512, within EDNS0's 1232
        huge_txt = ",".join(c * 250 for c in "abcdef")  # ≈ 1.6 kB: over UDP only truncated
        dnsmasq = [
            DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
            f"--listen-address={DNS_SERVER},{NO_TCP_DNS}", "--port=53",
            f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            f"--address=/{WEB_NAME}/{WEB}", "--address=/nx.lab.test/",
            "--local=/nodata.lab.test/", "--txt-record=nodata.lab.test,no address here",
            f"--host-record=v6.lab.test,{WEB_V6}", f"--txt-record=big.lab.test,{long_txt}",
            f"--txt-record=huge.lab.test,{huge_txt}",
            # Happy eyeballs: the IPv6 address (glibc sorts it first) dropped, or both unreachable.
            f"--host-record=dual.lab.test,{WEB},{V6_DROPPED}",
            f"--host-record=dead.lab.test,198.18.2.80,{V6_PROHIBITED}",
            "--user=root",
        ]  # fmt: skip
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.target_ns, *dnsmasq],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "dnsmasq.log", "w"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        self.processes.append(process)
        self._wait_port(DNS_SERVER, 53, "udp")

    def spawn(self, what: str, argv: list[str]) -> None:
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.target_ns, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.processes.append(process)
        _wait_ready(process, what)

    def _wait_port(self, address: str, port: int, proto: str, deadline_s: float = 10.0) -> None:
        end = time.monotonic() + deadline_s
        flag = "-uln" if proto == "udp" else "-tln"
        while time.monotonic() < end:
            listening = run("ip", "netns", "exec", self.target_ns, "ss", "-H", flag, check=False).stdout
            if f"{address}:{port}" in listening:
                return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {address}:{port}/{proto} (see {self.workdir}/dnsmasq.log)")

    def _make_certificates(self) -> None:
        """A test CA and a server certificate for www.lab.test, with the openssl CLI."""
        w = self.workdir
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(w / "ca.key"), "-out",
            str(self.ca_file), "-days", "2", "-subj", "/O=Vantage Test CA/CN=Vantage Test Root")  # fmt: skip
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(w / "server.key"), "-out",
            str(w / "server.csr"), "-subj", f"/CN={WEB_NAME}")  # fmt: skip
        (w / "san.ext").write_text(f"subjectAltName=DNS:{WEB_NAME}\n")
        run("openssl", "x509", "-req", "-in", str(w / "server.csr"), "-CA", str(self.ca_file), "-CAkey",
            str(w / "ca.key"), "-CAcreateserial", "-out", str(w / "server.pem"), "-days", "2", "-extfile",
            str(w / "san.ext"))  # fmt: skip

    # ------------------------------------------------------------ measuring

    def measure(
        self, *args: str, protocol: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """`vantage probe measure PROTOCOL ARGS --json` in the probe namespace: (exit status, documents)."""
        argv = ["ip", "netns", "exec", self.probe_ns, VANTAGE, "probe", "measure", protocol, *args, "--json"]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"measure {args} exited {result.returncode}: {result.stderr}")
        return result.returncode, [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def count_with_nftables(self, ruleset: str) -> None:
        """Load an nftables ruleset (counters, for tests that count what arrives) in the target."""
        path = self.workdir / "counters.nft"
        path.write_text(ruleset)
        run("ip", "netns", "exec", self.target_ns, "nft", "-f", str(path))

    def list_nftables(self, *what: str) -> list[dict[str, Any]]:
        """`nft -j list WHAT...` in the target namespace, as its list of JSON objects."""
        listed = run("ip", "netns", "exec", self.target_ns, "nft", "-j", "list", *what)
        return list(json.loads(listed.stdout)["nftables"])

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()
        for ns in (self.probe_ns, self.target_ns):
            run("ip", "netns", "del", ns, check=False)
        (self.netns_etc / "resolv.conf").unlink(missing_ok=True)
        if self.netns_etc.exists():
            self.netns_etc.rmdir()


# ---------------------------------------------------------------- multi-hop paths

# A chain for traceroute: probe - r1 - r2 - r3 - target, link i being 198.19.(10+i).0/30
# (.1 on the near side, .2 on the far side), so hop i answers from 198.19.(10+i).2 and the
# target is hop 4. The target holds PATH_TARGET on lo and routes to no one; r2 can be made
# silent (it sends no time exceeded) and r3 rejects PATH_UNREACHABLE with host unreachable.
PATH_ROUTERS = 3
PATH_TARGET = "198.18.100.1"
PATH_UNREACHABLE = "198.18.101.1"  # r3 answers host unreachable
PATH_LOOP = "198.18.102.1"  # r3 sends it back to r2, r2 to r3: a routing loop
PATH_PREFIX = "198.18.100.0/22"
# The same path in IPv6: link i is fd00:0:0:(10+i)::/64, the target fd00:0:0:100::1.
PATH_TARGET6 = "fd00:0:0:100::1"
PATH_UNREACHABLE6 = "fd00:0:0:101::1"  # r3 answers address unreachable
PATH_PREFIX6 = "fd00:0:0:100::/56"


def path_hop_address(hop: int, family: int = 4) -> str:
    """The address hop `hop` (1-based) answers from: the far side of link `hop`."""
    return f"fd00:0:0:{10 + hop}::2" if family == 6 else f"198.19.{10 + hop}.2"


@dataclass
class PathLab:
    """probe - r1 - r2 - r3 - target namespaces (see PATH_* above); close() deletes them."""

    workdir: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def names(self) -> list[str]:
        return [f"vtpp-{self.tag}-{i}" for i in range(PATH_ROUTERS + 2)]

    @property
    def probe_ns(self) -> str:
        return self.names[0]

    @property
    def target_ns(self) -> str:
        return self.names[-1]

    def router_ns(self, hop: int) -> str:
        return self.names[hop]

    def build(self) -> None:
        names = self.names
        for ns in names:
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            for setting in (
                "net.ipv4.ip_forward=1",
                "net.ipv4.icmp_ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=1000000",
                "net.ipv4.icmp_msgs_burst=100000",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv6.conf.all.forwarding=1",
                "net.ipv6.icmp.ratelimit=0",
            ):
                run("ip", "netns", "exec", ns, "sysctl", "-qw", setting, check=False)
        for link in range(1, len(names)):
            near, far = names[link - 1], names[link]
            a, b = f"vtpp{self.tag}{link}a", f"vtpp{self.tag}{link}b"
            run("ip", "-n", near, "link", "add", a, "type", "veth", "peer", "name", b, "netns", far)
            run("ip", "-n", near, "addr", "add", f"198.19.{10 + link}.1/30", "dev", a)
            run("ip", "-n", far, "addr", "add", f"198.19.{10 + link}.2/30", "dev", b)
            run("ip", "-n", near, "-6", "addr", "add", f"fd00:0:0:{10 + link}::1/64", "dev", a, "nodad")
            run("ip", "-n", far, "-6", "addr", "add", f"fd00:0:0:{10 + link}::2/64", "dev", b, "nodad")
            run("ip", "-n", near, "link", "set", a, "up")
            run("ip", "-n", far, "link", "set", b, "up")
        for index, ns in enumerate(names):
            if index < len(names) - 1:  # towards the target
                run("ip", "-n", ns, "route", "add", PATH_PREFIX, "via", f"198.19.{11 + index}.2")
                run("ip", "-n", ns, "-6", "route", "add", PATH_PREFIX6, "via", f"fd00:0:0:{11 + index}::2")
            if index > 1:  # back towards the probe (and every link before this one)
                run("ip", "-n", ns, "route", "add", "198.19.8.0/21", "via", f"198.19.{10 + index}.1")
                run(
                    "ip",
                    "-n",
                    ns,
                    "-6",
                    "route",
                    "add",
                    "fd00:0:0:10::/60",
                    "via",
                    f"fd00:0:0:{10 + index}::1",
                )
        run("ip", "-n", self.target_ns, "addr", "add", f"{PATH_TARGET}/32", "dev", "lo")
        run("ip", "-n", self.target_ns, "-6", "addr", "add", f"{PATH_TARGET6}/128", "dev", "lo", "nodad")
        r2, r3 = self.router_ns(2), self.router_ns(3)
        # Before routing, as an unreachable route would answer, but through icmp_send, whose
        # rate limits the sysctls above lift (an unreachable route's ip_error allows about
        # one answer a second, and repeated traces would lose them).
        ruleset = self.workdir / f"{self.tag}-r3.nft"
        ruleset.write_text(
            "table ip vtpp_unreachable {\n  chain pre {\n    type filter hook prerouting priority 0;\n"
            f"    ip daddr {PATH_UNREACHABLE} reject with icmp type host-unreachable\n  }}\n}}\n"
            "table ip6 vtpp_unreachable6 {\n  chain pre {\n    type filter hook prerouting priority 0;\n"
            f"    ip6 daddr {PATH_UNREACHABLE6} reject with icmpv6 type addr-unreachable\n  }}\n}}\n"
        )
        run("ip", "netns", "exec", r3, "nft", "-f", str(ruleset))
        run("ip", "-n", r3, "route", "add", f"{PATH_LOOP}/32", "via", "198.19.13.1")  # back to r2
        run("ip", "-n", r2, "route", "add", f"{PATH_LOOP}/32", "via", path_hop_address(3))

    def silence(self, hop: int) -> None:
        """Hop `hop` stops sending ICMP time exceeded (it still forwards)."""
        ruleset = self.workdir / f"silence-{hop}.nft"
        ruleset.write_text(
            "table ip vtpp_silent {\n  chain out {\n    type filter hook output priority 0;\n"
            "    icmp type time-exceeded drop\n  }\n}\n"
        )
        run("ip", "netns", "exec", self.router_ns(hop), "nft", "-f", str(ruleset))

    def exec_argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.probe_ns, *argv]

    def close(self) -> None:
        for ns in self.names:
            run("ip", "netns", "del", ns, check=False)
