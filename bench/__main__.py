"""Run the benchmarks: `python -m bench` (or `make bench`) runs every script in bench/ in turn.

    python -m bench                 every benchmark, with its defaults
    python -m bench verdict web     only these (names without .py)
    python -m bench --list          the names, with each script's first docstring line

Each script compares side by side with a named peer in one run and prints ratios; some need
root (they build their own network namespaces) or the real datasets in ../shared/data, and say
so when those are missing. Run on a quiet machine: every figure here is a ceiling measured on 2
shared cores. The list is the directory itself, so a new script is run without being listed.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def extra_arguments(name: str) -> list[str]:
    """Arguments a script cannot run without: probe_idle.py measures the installs it is given,
    here the one running this."""
    return [sys.prefix] if name == "probe_idle" else []


def benchmarks() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def summary(name: str) -> str:
    docstring = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text())) or ""
    return docstring.splitlines()[0] if docstring else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run Vantage's benchmarks, each side by side with its named peer (several need root).",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    known = benchmarks()
    if args.list:
        for name in known:
            print(f"{name:22} {summary(name)}")
        return 0
    unknown = [n for n in args.names if n.removesuffix(".py") not in known]
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(known)})")
    failed = []
    for name in [n.removesuffix(".py") for n in args.names] or known:
        print(f"\n=== bench/{name}.py", flush=True)
        command = [sys.executable, str(HERE / f"{name}.py"), *extra_arguments(name)]
        if subprocess.run(command).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
