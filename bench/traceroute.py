"""Traceroute side by side: `vantage probe measure traceroute` against traceroute(8) and scamper.

    python bench/traceroute.py [--repeat 5]

Needs root (it builds the multi-hop namespace path of tests/probe/engine/netns_lab.py,
probe - r1 - r2 - r3 - target, and deletes it at the end; no packet leaves it) and Debian's
`traceroute` and `scamper` (scripts/setup.sh installs both).

For each method (ICMP, UDP, TCP SYN) and each path (to the target: 4 hops; to an address r3
has an unreachable route for: 3 hops ending in !H), every tool traces `--repeat` times with the
same settings: 3 probes per hop, 16 probes in flight, 1 s wait, numeric output:

* ours, end to end: `vantage probe measure traceroute T --protocol M --timeout 1000` (the
  CLI: interpreter start, imports, the trace, the table);
* ours, engine only: the same traces in one process through Engine.run (the driver's cost
  without the interpreter's start);
* `traceroute -n -q 3 -N 16 -w 1 [-I | -U | -T -p 80] T`;
* `scamper -c "trace -P {icmp-paris|udp-paris|tcp} -q 3 -w 1" -i T`.

Python runs from compiled bytecode, as installed (the bench compiles the package and clears
PYTHONDONTWRITEBYTECODE for its children). Printed per case: the hops each found (they must
agree), the median wall time and CPU time (user + system, of the process and its children)
per trace, and theirs / ours ratios. Figures: docs/probe-engine.md "Traceroute".
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METHODS = ("icmp", "udp", "tcp")
TRACEROUTE_FLAGS = {"icmp": ["-I"], "udp": ["-U"], "tcp": ["-T", "-p", "80"]}
SCAMPER_METHODS = {"icmp": "icmp-paris", "udp": "udp-paris", "tcp": "tcp"}
_HOP_LINE = re.compile(r"^\s*(\d+)\s+(.*)$")
_ADDRESS = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")


def hops_of(text: str, skip_header: bool = True) -> list[tuple[str, ...]]:
    """The responding addresses per hop of a traceroute(8)-style text ("*" hops: ())."""
    hops: list[tuple[str, ...]] = []
    for line in text.splitlines():
        match = _HOP_LINE.match(line)
        if not match:
            continue
        hops.append(tuple(dict.fromkeys(_ADDRESS.findall(match.group(2)))))
    return hops


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one command."""
    cpu = children_cpu_s()
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return wall, children_cpu_s() - cpu, result.stdout


def inner(target: str, method: str, repeat: int) -> None:
    """Runs inside the probe namespace: `repeat` traces through the engine, one process."""
    import asyncio

    from vantage.probe.engine import Engine, EngineLimits
    from vantage.probe.engine.model import MeasurementRequest, TracerouteDetails, TracerouteOptions

    options = TracerouteOptions(method=method, timeout_ms=1000.0)
    engine = Engine(EngineLimits(max_rate_per_s=100_000))
    walls, cpus = [], []
    hops: list[list[str]] = []
    for i in range(repeat):
        request = MeasurementRequest(str(i), target, options)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        start = time.perf_counter()

        async def one(request: MeasurementRequest = request) -> object:
            async for result in engine.run([request]):
                return result
            return None

        result = asyncio.run(one())
        walls.append(time.perf_counter() - start)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpus.append(usage.ru_utime + usage.ru_stime - cpu)
        details = getattr(result, "details", None)
        assert isinstance(details, TracerouteDetails)
        hops = [list(hop.addresses) for hop in details.hops]
    print(json.dumps({"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "hops": hops}))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--inner", nargs=3, metavar=("TARGET", "METHOD", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner[0], args.inner[1], int(args.inner[2]))
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    # Python from compiled bytecode, as after `pip install` (bench/icmp_sweep.py says why).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(REPO / "vantage", quiet=1)
    sys.path.insert(0, str(REPO))
    from tests.probe.engine.netns_lab import PATH_TARGET, PATH_UNREACHABLE, VANTAGE, PathLab

    lab = PathLab(Path(tempfile.mkdtemp(prefix="vantage-trace-bench-")))
    lab.build()
    rows = []
    try:
        for method in METHODS:
            for target in (PATH_TARGET, PATH_UNREACHABLE):
                tools = {
                    "ours (CLI)": [VANTAGE, "probe", "measure", "traceroute", target, "--protocol", method,
                                   "--timeout", "1000"],
                    "traceroute": ["traceroute", "-n", "-q", "3", "-N", "16", "-w", "1",
                                   *TRACEROUTE_FLAGS[method], target],
                    "scamper": ["scamper", "-O", "text", "-c",
                                f"trace -P {SCAMPER_METHODS[method]} -q 3 -w 1", "-i", target],
                }  # fmt: skip
                measured: dict[str, tuple[float, float, list[tuple[str, ...]]]] = {}
                for name, argv in tools.items():
                    walls, cpus = [], []
                    hops: list[tuple[str, ...]] = []
                    for _ in range(args.repeat):
                        wall, cpu, out = timed(lab.exec_argv(*argv))
                        walls.append(wall)
                        cpus.append(cpu)
                        hops = hops_of(out)
                    measured[name] = (statistics.median(walls), statistics.median(cpus), hops)
                repeat = str(args.repeat)
                _, _, out = timed(lab.exec_argv(sys.executable, __file__, "--inner", target, method, repeat))
                engine = json.loads(out)
                measured["ours (engine)"] = (
                    engine["wall_s"],
                    engine["cpu_s"],
                    [tuple(h) for h in engine["hops"]],
                )
                rows.append((method, target, measured))
    finally:
        lab.close()
    for method, target, measured in rows:
        print(f"\n{method} to {target}")
        reference = measured["traceroute"][2]
        for name, (wall, cpu, hops) in measured.items():
            same = "same hops" if hops == reference else f"DIFFERENT hops: {hops}"
            times = f"wall {wall * 1000:7.1f} ms  cpu {cpu * 1000:6.1f} ms"
            print(f"  {name:<14} {times}  {len(hops)} hops, {same}")
        ours_wall, ours_cpu, _ = measured["ours (CLI)"]
        engine_wall, engine_cpu, _ = measured["ours (engine)"]
        for peer in ("traceroute", "scamper"):
            wall, cpu, _ = measured[peer]
            print(
                f"  {peer}/ours: wall {wall / ours_wall:.2f}x (engine {wall / engine_wall:.2f}x), "
                f"cpu {cpu / ours_cpu:.2f}x (engine {cpu / max(engine_cpu, 1e-6):.2f}x)"
            )
    print(f"\nhops per tool: {json.dumps({m + ' ' + t: len(x['traceroute'][2]) for m, t, x in rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
