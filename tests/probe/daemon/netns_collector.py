"""The fake collector as a process, for a probe that runs inside a network namespace.

`ip netns exec NS python -m tests.probe.daemon.netns_collector PLAN OUT` serves the work plan
in the file PLAN (a serialized vantage.v1.WorkPlan) on 127.0.0.1 of that namespace, prints its
port and then "ready", and appends every measurement it receives to OUT, one serialized
message per line in hex. It stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from tests.probe.daemon.fake_collector import FakeCollector


def main() -> int:
    plan, out = Path(sys.argv[1]), Path(sys.argv[2])
    collector = FakeCollector(plan.read_bytes())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(collector.port, flush=True)
    print("ready", flush=True)
    written = 0
    with out.open("a") as sink:
        while not stop.wait(0.1):
            received = collector.measurements()
            for measurement in received[written:]:
                sink.write(measurement.SerializeToString().hex() + "\n")
            written = len(received)
            sink.flush()
    collector.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
