"""A real probe daemon in a network namespace, its rate cap and its HTTP resolve step, counted
at the other end (issue 19 item 8, issue 18 item 1).

The lab is tests/probe/engine/netns_lab.py's (a probe and a target namespace; dnsmasq and the
HTTP server of lab_servers.py in the target); the fake collector (netns_collector.py) runs on
the probe namespace's own loopback, so the daemon, its collector and every packet it sends stay
inside the two namespaces. nftables counters in the target namespace count what arrives: SYNs
to the web server, SYNs to a network whose SYNs are dropped, queries to dnsmasq.

No timed assertion: a token bucket of `rate` per second grants at most rate × T tokens (plus
its one initial token) in any T seconds, and every packet is paid before it is sent, by the
measurement that sends it, between its started_at and its end (started_at + duration: a
measurement's duration includes its waits for the cap). So each test asserts that the packets
counted are at most rate × (the span the measurements themselves report) plus a small slack.
A slow machine only lengthens that span, loosening the bound; before the fix the counts were
3-6 times over it. The figures are printed (run with -s to see them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probe.daemon.fake_collector import work_plan
from tests.probe.daemon.harness import VANTAGE, Process, Processes, poll
from tests.probe.engine.netns_lab import DNS_SERVER, WEB, WEB_NAME, WEB_V6, ProbeLab, run
from vantage.v1 import measurement_pb2, probe_service_pb2

pytestmark = [pytest.mark.netns, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
RATE = 10
DROPPING = "198.18.1"  # netns_lab.DROPPED_NET: the target's firewall drops everything to it
# A packet or two may be granted and in flight at either end of the span the results report.
SLACK = 3

COUNTERS = f"""
table inet vtcap {{
  counter web_syns {{}}
  counter dropped_syns {{}}
  counter dns_queries {{}}
  chain count {{
    type filter hook prerouting priority -300;
    ip daddr {WEB} tcp dport 80 tcp flags & (syn | ack) == syn counter name "web_syns"
    ip daddr {DROPPING}.0/24 tcp dport 80 tcp flags & (syn | ack) == syn counter name "dropped_syns"
    ip daddr {DNS_SERVER} udp dport 53 counter name "dns_queries"
  }}
}}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProbeLab]:
    probe_lab = ProbeLab(Path(tmp_path_factory.mktemp("caps-lab")))
    try:
        probe_lab.build_network()
        probe_lab.start_servers()
        ruleset = probe_lab.workdir / "counters.nft"
        ruleset.write_text(COUNTERS)
        run("ip", "netns", "exec", probe_lab.target_ns, "nft", "-f", str(ruleset))
        yield probe_lab
    finally:
        probe_lab.close()


def counter(lab: ProbeLab, name: str) -> int:
    listed = run("ip", "netns", "exec", lab.target_ns, "nft", "-j", "list", "counter", "inet", "vtcap", name)
    for entry in json.loads(listed.stdout)["nftables"]:
        if "counter" in entry:
            return int(entry["counter"]["packets"])
    raise AssertionError(f"no counter {name}: {listed.stdout}")


def http_task(task_id: str, url: str, timeout_ms: int = 0) -> probe_service_pb2.Task:
    return probe_service_pb2.Task(
        id=task_id,
        protocol=measurement_pb2.PROTOCOL_HTTP,
        target=measurement_pb2.Target(target_id=f"t-{task_id}"),
        options=probe_service_pb2.TaskOptions(url=url, timeout_ms=timeout_ms),
    )


def run_daemon_round(
    lab: ProbeLab, workdir: Path, tasks: list[probe_service_pb2.Task], *flags: str
) -> list[measurement_pb2.Measurement]:
    """`vantage probe run` in the probe namespace against a fake collector there, until every
    task of the plan was reported; the measurements the collector received."""
    workdir.mkdir()
    plan, received = workdir / "plan.bin", workdir / "received.hex"
    plan.write_bytes(work_plan(tasks))
    in_probe_ns = ["ip", "netns", "exec", lab.probe_ns]
    collector = subprocess.Popen(
        [*in_probe_ns, sys.executable, "-m", "tests.probe.daemon.netns_collector", str(plan), str(received)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    processes = Processes()
    try:
        assert collector.stdout is not None
        port = int(collector.stdout.readline())
        assert collector.stdout.readline().strip() == "ready"
        argv = [*in_probe_ns, *VANTAGE, "probe", "run", "--state-dir", str(workdir / "state"), "--plaintext"]
        argv += ["--collector", f"127.0.0.1:{port}", "--enroll-token=vet_fake", "--heartbeat-seconds", "1"]
        argv += ["--retry-max-seconds", "1", "--allow-range", "198.18.0.0/15", *flags]
        probe = processes.add(Process("probe", argv, workdir / "probe.log")).start()

        def every_task() -> list[measurement_pb2.Measurement] | None:
            assert probe.alive(), probe.tail()
            lines = received.read_text().split() if received.exists() else []
            found = [measurement_pb2.Measurement.FromString(bytes.fromhex(line)) for line in lines]
            return found if {m.task_id for m in found} >= {t.id for t in tasks} else None

        measured = poll(every_task, timeout_s=120, what="a result for every task", interval_s=0.2)
        assert measured is not None
        return measured
    finally:
        processes.close()
        collector.terminate()
        collector.wait(timeout=10)


def span_s(measured: list[measurement_pb2.Measurement]) -> float:
    """From the first measurement's start to the last one's end, as the probe reports them."""
    starts = [m.started_at.ToNanoseconds() for m in measured]
    ends = [m.started_at.ToNanoseconds() + m.duration.ToNanoseconds() for m in measured]
    return (max(ends) - min(starts)) / 1e9


def test_redirects_and_the_http_resolve_step_pay_for_every_connection_and_query(
    lab: ProbeLab, tmp_path: Path
) -> None:
    # /loop redirects to itself: 1 + 5 (the default bound) connections per task, each hop of a
    # named URL resolved again (A and AAAA). Before the fix only the task's start was paid:
    # 59 connections/s at --max-rate 10.
    tasks = [http_task(f"by-name-{n}", f"http://{WEB_NAME}/loop", 60_000) for n in range(4)]
    tasks += [http_task(f"by-address-{n}", f"http://{WEB}/loop", 60_000) for n in range(4)]
    syns_before, queries_before = counter(lab, "web_syns"), counter(lab, "dns_queries")
    measured = run_daemon_round(lab, tmp_path / "redirects", tasks, "--max-rate", str(RATE))
    syns = counter(lab, "web_syns") - syns_before
    queries = counter(lab, "dns_queries") - queries_before
    span = span_s(measured)
    print(
        f"\nredirects at --max-rate {RATE}: {syns} connections + {queries} DNS queries in {span:.1f} s"
        f" = {(syns + queries) / span:.1f} packets/s ({syns / span:.1f} connections/s)"
    )
    assert {m.failure.kind for m in measured} == {"http_too_many_redirects"}, measured[0]
    assert syns == 6 * len(tasks)  # every hop connected once: nothing was lost to the cap
    assert queries == 2 * 6 * 4  # A and AAAA for each hop of the named tasks
    assert syns + queries <= RATE * span + SLACK


def test_syn_retransmissions_are_paid_for(lab: ProbeLab, tmp_path: Path) -> None:
    # A port whose SYNs are dropped: the kernel retransmits (at 1 and 2 s on Linux >= 6.5,
    # at 1 s before). Before issue 19's fix those retransmissions were free: 56-60 SYN/s at
    # --max-rate 10; with two paid per attempt, Linux >= 6.5's third went out unpaid (97 SYNs
    # where 68 were paid). This total bound is loose (the pacer idles while the last tasks
    # wait out their timeouts): the exact check, SYNs sent <= tokens paid for each connect,
    # is tests/probe/engine/test_netns_syn_pay.py.
    tasks = [
        probe_service_pb2.Task(
            id=f"dropped-{n}",
            protocol=measurement_pb2.PROTOCOL_TCP,
            target=measurement_pb2.Target(address=f"{DROPPING}.{n + 1}", port=80, target_id=f"t-{n}"),
            options=probe_service_pb2.TaskOptions(timeout_ms=3500),
        )
        for n in range(30)
    ]
    before = counter(lab, "dropped_syns")
    measured = run_daemon_round(lab, tmp_path / "dropped", tasks, "--max-rate", str(RATE))
    syns = counter(lab, "dropped_syns") - before
    span = span_s(measured)
    print(f"\nSYN-dropping port at --max-rate {RATE}: {syns} SYNs in {span:.1f} s = {syns / span:.1f} SYN/s")
    assert {(m.failure.kind, m.failure.operation) for m in measured} == {
        ("generic_timeout_error", measurement_pb2.OPERATION_CONNECT)
    }
    # Each measurement sent its SYN and at least the kernel's retransmission at 1 s.
    assert syns >= 2 * len(tasks)
    assert syns <= RATE * span + SLACK


def test_a_planned_http_task_resolves_with_the_engines_dns_step(lab: ProbeLab, tmp_path: Path) -> None:
    # Issue 18 item 1: the daemon resolved planned HTTP tasks with getaddrinfo, so DNS-based
    # blocking read as unknown (and no rcode or answers were kept). dnsmasq answers NXDOMAIN for
    # nx.lab.test; dual.lab.test has WEB and an fd00:: address the policy refuses; v6.lab.test
    # only an fd00:: address.
    tasks = [
        http_task("nx", "http://nx.lab.test/"),
        http_task("ok", f"http://{WEB_NAME}/"),
        http_task("dual", "http://dual.lab.test/"),
        http_task("v6-only", "http://v6.lab.test/"),
    ]
    started = time.monotonic()
    by_task = {m.task_id: m for m in run_daemon_round(lab, tmp_path / "resolve", tasks)}
    print(f"\nfour planned HTTP tasks measured in {time.monotonic() - started:.1f} s")
    nx = by_task["nx"]
    assert nx.outcome == measurement_pb2.OUTCOME_FAILURE
    assert (nx.failure.kind, nx.failure.operation) == (
        "dns_nxdomain_error",
        measurement_pb2.OPERATION_RESOLVE,
    )
    assert [(e.query_type, e.server, e.rcode) for e in nx.http.resolve] == [
        ("A", DNS_SERVER, "NXDOMAIN"),
        ("AAAA", DNS_SERVER, "NXDOMAIN"),
    ]
    ok = by_task["ok"]
    assert ok.outcome == measurement_pb2.OUTCOME_OK and ok.http.connected_address == WEB
    answers = {e.query_type: [a.data for a in e.answers] for e in ok.http.resolve}
    assert answers["A"] == [WEB]
    # A refused address among the answers is never connected to; the allowed one is measured.
    dual = by_task["dual"]
    assert dual.outcome == measurement_pb2.OUTCOME_OK and dual.http.connected_address == WEB
    assert [a.address for a in dual.http.connect_attempts] == [WEB]
    v6_only = by_task["v6-only"]
    assert v6_only.outcome == measurement_pb2.OUTCOME_REFUSED_BY_POLICY
    assert v6_only.failure.kind == "refused_by_policy" and WEB_V6 in v6_only.failure.detail
    assert [e.query_type for e in v6_only.http.resolve] == ["A", "AAAA"]
