"""DNS queries/s and HTTP measurements/s of the probe engine against lab servers, beside peers.

    /work/venv/bin/python bench/probe_rates.py [--dns-queries 3000] [--http-requests 1000]
                                               [--concurrency 64] [--per-request-queries 2000]
                                               [--per-request-http 200] [--per-request-only]
                                               [--before DIR]

--before DIR runs the CLI of an older checkout (`git worktree add --detach DIR main`, put on
PYTHONPATH) beside ours for every path, so before and after share one time window on a shared
machine.

Needs root: it builds the probe test lab (tests/probe/engine/netns_lab.py: two namespaces vtpa-XXXX-p
and vtpa-XXXX-t over veth, dnsmasq and a Python HTTP server in the target namespace, no staged
failures) and deletes it at the end. Each side runs as its own process in the probe namespace,
at the same concurrency, against the same server:

* DNS: the engine (DnsOptions: one UDP query per measurement, fresh socket and random id each,
  full answer interpretation) vs. dnspython's own `dns.asyncquery.udp` in a plain asyncio loop
  (measured before: dnspython over one shared socket ≈ 6.5k queries/s on this kind of machine).
* HTTP: the engine (HttpOptions: connect, GET with h11, per-phase timings, SHA-256 of the body)
  vs. `curl --parallel` fetching the same URL the same number of times.

The servers (dnsmasq, Python's ThreadingHTTPServer) share the same two cores, so the figures
are a floor for the engine, and the ratio is the comparable number.

Then, per request and one at a time, the CPU (user + system, from wait4) of the paths a user
takes (issue 18): `vantage probe measure dns` and `http`, each with its targets from
--targets-file and as arguments, printing a table and --json, against a plain
dnspython loop and `dig -f` (Debian's bind9-dnsutils; skipped when absent), `vantage probe
measure http` over HTTPS and HTTP against curl with the same CA bundle and --no-sessionid, and
HTTP against the HTTP/1.1 work alone (h11 and the body digest over a recorded answer).
Besides these (issue 18's figures, interpreter start included), "beyond start-up" rows give the
CPU of a one-request run and what each further request cost, for ours and curl (each one
process for all its URLs, a new connection and full handshake per URL): docs/probe-engine.md
"Start-up and the HTTP path" says why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DNS_SERVER, WEB, WEB_NAME = "198.18.0.53", "198.18.0.80", "www.lab.test"


def inner_engine_dns(count: int, concurrency: int) -> None:
    from vantage.probe.engine import DnsOptions, MeasurementRequest

    options = DnsOptions(query_name=WEB_NAME, query_type="A", expected=(WEB,), timeout_ms=5000)
    requests = [MeasurementRequest(str(i), DNS_SERVER, options) for i in range(count)]
    _report_engine(requests, concurrency)


def inner_engine_http(count: int, concurrency: int) -> None:
    from vantage.probe.engine import HttpOptions, MeasurementRequest

    options = HttpOptions(url=f"http://{WEB_NAME}/", timeout_ms=10_000)
    requests = [MeasurementRequest(str(i), WEB, options) for i in range(count)]
    _report_engine(requests, concurrency)


def _report_engine(requests: list[Any], concurrency: int) -> None:
    from vantage.kinds import Outcome
    from vantage.probe.engine import Engine, EngineLimits

    async def run() -> tuple[int, float]:
        ok = 0
        start = time.perf_counter()
        engine = Engine(EngineLimits(max_rate_per_s=1_000_000, max_concurrency=concurrency))
        async for result in engine.run(requests):
            ok += result.outcome is Outcome.OK
        return ok, time.perf_counter() - start

    ok, elapsed = asyncio.run(run())
    print(json.dumps({"ok": ok, "elapsed_s": elapsed}))


def inner_dnspython(count: int, concurrency: int) -> None:
    import dns.asyncquery
    import dns.message

    async def run() -> tuple[int, float]:
        semaphore = asyncio.Semaphore(concurrency)
        ok = 0

        async def one() -> None:
            nonlocal ok
            async with semaphore:
                query = dns.message.make_query(WEB_NAME, "A")
                response = await dns.asyncquery.udp(query, DNS_SERVER, timeout=5)
                ok += bool(response.answer)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return ok, time.perf_counter() - start

    ok, elapsed = asyncio.run(run())
    print(json.dumps({"ok": ok, "elapsed_s": elapsed}))


def inner_dnspython_loop(names_file: str) -> None:
    """The plain dnspython loop of issue 18: one query after the other, nothing else."""
    import dns.message
    import dns.query

    for name in Path(names_file).read_text().split():
        dns.query.udp(dns.message.make_query(name, "A"), DNS_SERVER, timeout=5)


def inner_http_parse(count: int) -> None:
    """The HTTP/1.1 work alone: h11 writing the engine's request and parsing the lab's answer."""
    import h11

    from vantage.probe.engine.http import step as http_step

    body = b"<!doctype html><title>Vantage lab page</title><p>hello from the lab</p>\n"
    response = (b"HTTP/1.0 200 OK\r\nServer: vantage-test/1 Python/3.11.7\r\nDate: Tue, 01 Dec 2026 "
                b"22:00:00 GMT\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body))  # fmt: skip
    start = time.process_time()
    for _ in range(count):
        connection = h11.Connection(h11.CLIENT)
        head = h11.Request(method="GET", target="/", headers=[("Host", WEB_NAME), ("User-Agent", "x"),
                           ("Accept", "*/*"), ("Connection", "close")])  # fmt: skip
        connection.send(head)
        connection.send(h11.EndOfMessage())
        connection.receive_data(response)
        digest = http_step.BodyDigest(1 << 20)
        while True:
            event = connection.next_event()
            if isinstance(event, h11.Data):
                digest.feed(bytes(event.data))
            elif event is h11.NEED_DATA:
                connection.receive_data(b"")
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        digest.sha256  # noqa: B018 (the engine hashes every body)
    print(json.dumps({"cpu_s": time.process_time() - start}))


def _rusage(ns: str, argv: list[str], stdout: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of a child in the namespace, from wait4."""
    with open(stdout, "w") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env} if env else None,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{argv[:6]} exited {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_utime + usage.ru_stime


# Every path a user takes (issue 18): targets as arguments or from --targets-file, a table or
# --json. The first form of each group is the one its ratios are given for.
# Issue 18's goals, CPU per request: ours over the peer at most this.
GOALS = {
    ("dns", "plain dnspython loop"): 1.0,
    ("dns", "dig -f"): 3.0,
    ("https", "curl"): 1.0,
    ("http", "HTTP/1.1 parse alone"): 2.0,
}
USER_PATHS = (("file", "table"), ("file", "json"), ("args", "table"), ("args", "json"))


def compile_tree(tree: Path) -> None:
    """Byte-compile a checkout's modules, as installing a package does (pip writes the .pyc
    files of a wheel): with PYTHONDONTWRITEBYTECODE set (this machine's environment) every run
    of a checkout compiled its ≈ 40 modules from source again, ≈ 0.1 s of CPU that an installed
    probe never pays and that the per-request figures of short runs counted."""
    import compileall
    import re

    compileall.compile_dir(str(tree), quiet=1, rx=re.compile(r"/\.(venv|git)\b|/tests/|/build/"))


def per_request_costs(
    lab: Any, workdir: Path, queries: int, requests: int, before: str = ""
) -> list[tuple[str, str, float, float]]:
    """Issue 18's "speed on every path": CPU and wall time per DNS query, HTTPS request and HTTP
    request, ours through the CLI a user runs (each input and output form), beside dig -f, a
    plain dnspython loop, curl with the same CA bundle, and the HTTP/1.1 parse alone; with
    `before` (a checkout of older code), the same CLI runs of that code too, in the same window.
    Rows: (group, label, ms CPU each, ms wall each)."""
    from tests.probe.engine.netns_lab import VANTAGE

    ns, out = lab.probe_ns, workdir / "out.txt"
    for tree in (REPO, Path(before)) if before else (REPO,):
        compile_tree(tree)
    names = [f"n{i}.{WEB_NAME}" for i in range(queries)]  # dnsmasq answers every name under it
    (workdir / "names.txt").write_text("\n".join(names) + "\n")
    (workdir / "dig.txt").write_text("".join(f"@{DNS_SERVER} {name} A\n" for name in names))
    rows = []

    def row(group: str, label: str, argv: list[str], count: int, env: dict[str, str] | None = None) -> None:
        wall, cpu = _rusage(ns, argv, out, env)
        rows.append((group, label, cpu * 1000 / count, wall * 1000 / count))

    def ours(group: str, what: str, common: list[str], targets: list[str], count: int) -> None:
        for source, output in USER_PATHS:
            argv = [*common, *(["--targets-file", targets[0]] if source == "file" else targets[1:])]
            argv += ["--json"] if output == "json" else []
            form = f"{'--targets-file' if source == 'file' else 'arguments'}, {output}"
            row(group, f"{what} ({form})", argv, count)
            if before:
                row(group, f"{what} ({form}) before", argv, count, {"PYTHONPATH": before})

    measure_dns = [VANTAGE, "probe", "measure", "dns", "--server", DNS_SERVER, "--type", "A",
                   "--rate", "1000000", "--concurrency", "1"]  # fmt: skip
    ours("dns", "measure dns", measure_dns, [str(workdir / "names.txt"), *names], queries)
    row("dns", "plain dnspython loop (peer)", [sys.executable, __file__, "--inner", "dnspython-loop",
        "--names-file", str(workdir / "names.txt")], queries)  # fmt: skip
    if shutil.which("dig"):
        row("dns", "dig -f (peer)", ["dig", "+tries=1", "+time=5", "-f", str(workdir / "dig.txt")], queries)
    urls = workdir / "urls.txt"
    for scheme in ("https", "http"):
        url = f"{scheme}://{WEB_NAME}/"
        urls.write_text(f"{url}\n" * requests)
        measure_http = [VANTAGE, "probe", "measure", "http", "--resolve", f"{WEB_NAME}:{WEB}", "--ca-file",
                        str(lab.ca_file), "--rate", "1000000", "--concurrency", "1"]  # fmt: skip
        ours(scheme, f"measure http {scheme.upper()}", measure_http, [str(urls), *[url] * requests], requests)
        config = workdir / "curl.cfg"
        config.write_text(f'url = "{url}"\noutput = "/dev/null"\n' * requests)
        port = 443 if scheme == "https" else 80
        curl = ["curl", "--silent", "--noproxy", "*", "--no-sessionid", "--cacert", str(lab.ca_file),
                "--resolve", f"{WEB_NAME}:{port}:{WEB}", "--config", str(config)]  # fmt: skip
        row(scheme, f"curl, {requests} {scheme.upper()} URLs, same CA bundle (peer)", curl, requests)
    parse = subprocess.run([sys.executable, __file__, "--inner", "http-parse",
                            "--http-requests", str(requests * 20)],
                           capture_output=True, text=True, check=True)  # fmt: skip
    parse_ms = json.loads(parse.stdout)["cpu_s"] * 1000 / (requests * 20)
    rows.append(("http", "HTTP/1.1 parse alone (h11 + body digest)", parse_ms, parse_ms))
    rows += beyond_start_up(ns, out, workdir, lab.ca_file, requests, before)
    rows.append(("http beyond start-up", "HTTP/1.1 parse alone (h11 + body digest)", parse_ms, parse_ms))
    return rows


def beyond_start_up(
    ns: str, out: Path, workdir: Path, ca_file: Path, requests: int, before: str = ""
) -> list[tuple[str, str, float, float]]:
    """Rows besides issue 18's figures, which keep interpreter start in: the CPU of one request
    (start-up and the first request) and, per request, what `requests` more cost than one (the
    least of three runs of each), for
    ours (--targets-file, --json) and curl. A curl loop here is one process for all the URLs (as
    ours), so both figures count one start-up; ours is ≈ 0.1 s against curl's ≈ 15 ms, which
    over 100 requests is ≈ 1 ms a request of ours: the second figure tells the request's own
    cost from the start-up's. The HTTP/1.1 parse alone has neither start-up nor sockets."""
    from tests.probe.engine.netns_lab import VANTAGE

    rows = []
    for scheme in ("https", "http"):
        url = f"{scheme}://{WEB_NAME}/"
        port = 443 if scheme == "https" else 80
        group = f"{scheme} beyond start-up"
        for count in (1, requests):
            (workdir / f"urls{count}.txt").write_text(f"{url}\n" * count)
            (workdir / f"curl{count}.cfg").write_text(f'url = "{url}"\noutput = "/dev/null"\n' * count)
        ours = [VANTAGE, "probe", "measure", "http", "--resolve", f"{WEB_NAME}:{WEB}", "--ca-file",
                str(ca_file), "--rate", "1000000", "--concurrency", "1", "--json",
                "--targets-file"]  # fmt: skip
        curl = ["curl", "--silent", "--noproxy", "*", "--no-sessionid", "--cacert", str(ca_file),
                "--resolve", f"{WEB_NAME}:{port}:{WEB}", "--config"]  # fmt: skip
        label = f"measure http {scheme.upper()} (--targets-file, json)"
        sides: list[tuple[str, list[str], str, dict[str, str] | None]] = [(label, ours, "urls", None)]
        if before:
            sides.append((f"{label} before", ours, "urls", {"PYTHONPATH": before}))
        sides.append((f"curl, {scheme.upper()} (peer)", curl, "curl", None))
        for name, argv, stem, env in sides:
            suffix = ".txt" if stem == "urls" else ".cfg"
            # The least of three runs each: a difference of two runs, it carries both their noise.
            one_cpu = min(
                _rusage(ns, [*argv, str(workdir / f"{stem}1{suffix}")], out, env)[1] for _ in range(3)
            )
            many_cpu = min(
                _rusage(ns, [*argv, str(workdir / f"{stem}{requests}{suffix}")], out, env)[1]
                for _ in range(3)
            )
            each_ms = (many_cpu - one_cpu) * 1000 / (requests - 1)
            rows.append((group, f"{name}: 1 request", one_cpu * 1000, one_cpu * 1000))
            rows.append((group, f"{name}: each of {requests - 1} more", each_ms, each_ms))
    return rows


def _in_namespace(ns: str, argv: list[str]) -> dict[str, float]:
    result = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed: {result.stderr[-2000:]}")
    figure: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figure


def _curl(ns: str, workdir: Path, count: int, concurrency: int) -> dict[str, float]:
    config = workdir / "curl.cfg"
    config.write_text(f'url = "http://{WEB_NAME}/"\noutput = "/dev/null"\n' * count)
    argv = ["curl", "--silent", "--parallel", "--parallel-max", str(concurrency), "--noproxy", "*",
            "--resolve", f"{WEB_NAME}:80:{WEB}", "--write-out", "%{http_code}\\n",
            "--config", str(config)]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    return {"ok": sum(1 for code in result.stdout.split() if code == "200"), "elapsed_s": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dns-queries", type=int, default=3000)
    parser.add_argument("--http-requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--per-request-queries", type=int, default=2000, help="DNS names for the per-query costs"
    )
    parser.add_argument(
        "--per-request-http", type=int, default=200, help="HTTP(S) requests for the per-request costs"
    )
    inner_modes = ("engine-dns", "engine-http", "dnspython", "dnspython-loop", "http-parse")
    parser.add_argument("--inner", choices=inner_modes, help=argparse.SUPPRESS)
    parser.add_argument(
        "--before",
        metavar="DIR",
        default="",
        help="a checkout of older code (git worktree add --detach DIR main): its CLI runs beside "
        "ours in the same window, on PYTHONPATH",
    )
    parser.add_argument(
        "--per-request-only", action="store_true", help="only the per-request costs (no rates)"
    )
    parser.add_argument("--names-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner == "dnspython-loop":
        inner_dnspython_loop(args.names_file)
        return 0
    if args.inner == "http-parse":
        inner_http_parse(args.http_requests)
        return 0
    if args.inner:
        inner = {
            "engine-dns": inner_engine_dns,
            "engine-http": inner_engine_http,
            "dnspython": inner_dnspython,
        }
        count = args.dns_queries if "dns" in args.inner else args.http_requests
        inner[args.inner](count, args.concurrency)
        return 0
    if os.geteuid() != 0:
        print("probe_rates: needs root to create network namespaces", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from tests.probe.engine.netns_lab import ProbeLab

    workdir = Path(tempfile.mkdtemp(prefix="vtpa-bench-"))
    lab = ProbeLab(workdir)
    common = ["--dns-queries", str(args.dns_queries), "--http-requests", str(args.http_requests),
              "--concurrency", str(args.concurrency)]  # fmt: skip
    me = [sys.executable, __file__, *common, "--inner"]
    try:
        lab.build_network(stage_failures=False)
        lab.start_servers()
        if args.per_request_only:
            costs = per_request_costs(
                lab, workdir, args.per_request_queries, args.per_request_http, args.before
            )
            figures = {}
        else:
            figures = _rates(lab, workdir, me, args)
            costs = per_request_costs(
                lab, workdir, args.per_request_queries, args.per_request_http, args.before
            )
    finally:
        lab.close()
    if figures:
        _print_rates(figures, args.concurrency)
        print()
    print_costs(costs)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    return 0


def _rates(lab: Any, workdir: Path, me: list[str], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "dns engine": (_in_namespace(lab.probe_ns, [*me, "engine-dns"]), args.dns_queries),
        "dns dnspython": (_in_namespace(lab.probe_ns, [*me, "dnspython"]), args.dns_queries),
        "http engine": (_in_namespace(lab.probe_ns, [*me, "engine-http"]), args.http_requests),
        "http curl": (
            _curl(lab.probe_ns, workdir, args.http_requests, args.concurrency),
            args.http_requests,
        ),
    }


def _print_rates(figures: dict[str, Any], concurrency: int) -> None:
    print(f"concurrency {concurrency}; servers: dnsmasq, Python ThreadingHTTPServer (same 2 cores)")
    print(f"{'measurement':<44}{'per second':>11}{'ok':>8}")
    labels = {
        "dns engine": "DNS, vantage engine",
        "dns dnspython": "DNS, dnspython asyncquery.udp (peer)",
        "http engine": "HTTP GET, vantage engine",
        "http curl": "HTTP GET, curl --parallel (peer)",
    }
    rates = {}
    for key, (figure, count) in figures.items():
        rates[key] = count / figure["elapsed_s"]
        print(f"{labels[key]:<44}{rates[key]:>11,.0f}{int(figure['ok']):>8}/{count}")
    print(f"ratio DNS engine/dnspython: {rates['dns engine'] / rates['dns dnspython']:.2f}x; "
          f"HTTP engine/curl: {rates['http engine'] / rates['http curl']:.2f}x")  # fmt: skip


def print_costs(costs: list[tuple[str, str, float, float]]) -> None:
    """The per-request table, then each of our forms over each peer of its group (issue 18's goals:
    DNS <= 1x the dnspython loop and <= 3x dig -f; HTTPS <= 1x curl; HTTP <= 2x the parse alone)."""
    print(
        "Per request, one at a time (issue 18: every path a user takes); CPU = user + system of the process"
    )
    print(f"{'':<62}{'CPU ms':>8}{'wall ms':>9}")
    for _group, label, cpu_ms, wall_ms in costs:
        print(f"{label:<62}{cpu_ms:>8.3f}{wall_ms:>9.3f}")
    print("ratios, CPU per request, ours over the peer [goal]:")
    for group in dict.fromkeys(g for g, *_ in costs):
        peers = [(lbl, c) for g, lbl, c, _w in costs if g == group and ("(peer)" in lbl or "alone" in lbl)
                 and "1 request" not in lbl]  # fmt: skip
        for label, cpu_ms in (
            (lbl, c)
            for g, lbl, c, _w in costs
            if g == group and lbl.startswith("measure") and "1 request" not in lbl
        ):
            parts = []
            for peer_label, peer_ms in peers:
                name = peer_label.split(" (")[0].split(",")[0]
                goal = GOALS.get((group, name))
                parts.append(f"{name} {cpu_ms / peer_ms:.2f}x" + (f" [<= {goal:g}x]" if goal else ""))
            print(f"  {label:<56} " + "; ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
