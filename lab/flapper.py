"""The flapping hosts' clock: a small process that loads each flap period's responders when it begins.

`python -m vantage.lab.flapper SCHEDULE.json`, started by `Lab.start_flapping()`
(lab/session.py) inside the lab's collector namespace and recorded in the
lab's state like every other process, so it lives exactly as long as the lab
(also after `vantage lab up` returns) and `vantage lab down` stops it. The
schedule file holds, per AS hosts namespace, the responders of each of the
8 periods of the flap pattern (lab/responders.py), which then repeats; period
0 is loaded when the network is built, and this process's start is its time 0.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from vantage.lab.netns import in_namespace, run_command
from vantage.lab.responders import FLAP_PATTERN_PERIODS, responders_update


def main(argv: list[str]) -> int:
    schedule = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    flap_seconds = float(schedule["flap_seconds"])
    periods: dict[str, list[list[str]]] = schedule["namespaces"]
    loaded = {namespace: frozenset(by_period[0]) for namespace, by_period in periods.items()}
    started = time.monotonic()
    period = 0
    while True:
        time.sleep(max(0.0, started + (period + 1) * flap_seconds - time.monotonic()))
        period = int((time.monotonic() - started) // flap_seconds)
        for namespace, by_period in periods.items():
            wanted = frozenset(by_period[period % FLAP_PATTERN_PERIODS])
            if loaded[namespace] != wanted:
                run_command(in_namespace(namespace, ["nft", "-f", "-"]), stdin=responders_update(wanted))
                loaded[namespace] = wanted
        print(f"flap period {period} loaded", flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
