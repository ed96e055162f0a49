"""Run every benchmark in turn: `python -m bench` (or `make bench`).

Each script compares side by side with a named peer in one run and prints
ratios; some need root (they build their own network namespaces) or the
real datasets in ../shared/data, and say so when those are missing. Run on a
quiet machine: every figure here is a ceiling measured on 2 shared cores.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = (
    "asn_lookup.py",
    "discovery.py",
    "assignment/plan.py",
    "verdict.py",
    "bgp_feed.py",
    "metrics_render.py",
    "web.py",
    "ingest.py",
    "ingest_scaleout.py",
    "icmp_sweep.py",
    "traceroute.py",
    "probe_rates.py",
    "probe_footprint.py",
)


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench/{name}", flush=True)
        if subprocess.run([sys.executable, str(here / name)]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
