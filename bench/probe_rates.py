"""DNS queries/s and HTTP measurements/s of the probe engine against lab servers, beside peers.

    /work/venv/bin/python bench/probe_rates.py [--dns-queries 3000] [--http-requests 1000]
                                               [--concurrency 64]

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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
    parser.add_argument("--inner", choices=("engine-dns", "engine-http", "dnspython"), help=argparse.SUPPRESS)
    args = parser.parse_args()
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
        figures = {
            "dns engine": (_in_namespace(lab.probe_ns, [*me, "engine-dns"]), args.dns_queries),
            "dns dnspython": (_in_namespace(lab.probe_ns, [*me, "dnspython"]), args.dns_queries),
            "http engine": (_in_namespace(lab.probe_ns, [*me, "engine-http"]), args.http_requests),
            "http curl": (
                _curl(lab.probe_ns, workdir, args.http_requests, args.concurrency),
                args.http_requests,
            ),
        }
    finally:
        lab.close()
    print(f"concurrency {args.concurrency}; servers: dnsmasq, Python ThreadingHTTPServer (same 2 cores)")
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
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
