"""An ExaBGP `process` that appends every JSON line ExaBGP writes to its stdin to a file.

The lab's own record of what its route collector heard (lab/bgp.py names it
"capture"); tests read the file, and one short capture is kept as a fixture
for the route feed's parsers (tests/lab/fixtures/exabgp_capture.jsonl).
Usage: python -m vantage.lab.bgp_capture PATH
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m vantage.lab.bgp_capture PATH", file=sys.stderr)
        return 2
    with Path(arguments[0]).open("a", encoding="utf-8") as capture:
        for line in sys.stdin:
            capture.write(line)
            capture.flush()  # the lab reads the file while ExaBGP runs
    return 0


if __name__ == "__main__":
    sys.exit(main())
