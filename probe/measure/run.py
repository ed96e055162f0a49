"""Running `vantage probe measure`: the engine, then a table or JSON lines on stdout.

Results are printed as they complete (a sweep of 65k targets streams, like fping). The
progress bar goes to stderr, and only when stderr is a terminal, so that pipes and files get
clean output.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from vantage.cliutil import EXIT_FAILURE, CliError
from vantage.kinds import Outcome
from vantage.probe.engine import Engine, EngineLimits, IcmpUnavailable, MeasurementRequest
from vantage.probe.engine.engine import PreparedRun
from vantage.probe.engine.model import MeasurementResult

# Redraw the progress bar at most 10 times a second: cheap even for 100k results/s.
PROGRESS_REDRAW_S = 0.1
# Results are printed this many at a time, yielding to the event loop in between: the sweep
# shares this thread, and while JSON lines are written (≈ 25 µs each here) its socket fills;
# 256 rows hold it up for a few ms, which the receive buffer absorbs many times over.
OUTPUT_CHUNK = 256


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._drawn_at = 0.0

    def step(self, results: int = 1) -> None:
        self.done += results
        now = time.monotonic()
        if now - self._drawn_at >= PROGRESS_REDRAW_S or self.done == self.total:
            self._drawn_at = now
            width = 30
            filled = width * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total}")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def run_measurements(
    requests: Sequence[MeasurementRequest],
    args: argparse.Namespace,
    unresolved: Sequence[MeasurementResult] = (),
) -> int:
    """Measure `requests` and print every result; `unresolved` (names that did not resolve) first."""
    # A sweep holds hundreds of thousands of long-lived objects (requests, then results) and
    # makes no garbage cycles worth collecting in a run this short: no collections at all
    # (they walked every live object again and again). Frozen, the requests are not even
    # looked at if the collector runs again.
    gc.disable()
    gc.freeze()
    if unresolved:
        _write(list(unresolved), args, None)
        if not requests:
            sys.stdout.flush()
            return EXIT_FAILURE
    limits = EngineLimits(
        max_rate_per_s=args.rate,
        max_concurrency=args.concurrency,
        icmp_sender=getattr(args, "sender", "auto"),  # an ICMP option only
    )
    engine = Engine(limits)
    try:
        prepared = engine.prepare(requests)  # a big sweep's sender starts here
    except IcmpUnavailable as exc:
        raise CliError(str(exc)) from None
    try:
        # Imported only now: its ≈ 40 ms pass while the first packets of a sweep go out.
        import asyncio

        counts = asyncio.run(_run(engine, requests, prepared, args))
    finally:
        prepared.close()
    failed = counts[Outcome.FAILURE] + counts[Outcome.MISMATCH] + len(unresolved)
    return EXIT_FAILURE if failed else 0


async def _run(
    engine: Engine, requests: Sequence[MeasurementRequest], prepared: PreparedRun, args: argparse.Namespace
) -> dict[Outcome, int]:
    import asyncio  # loaded by now (run_measurements)

    from vantage.probe.measure.table import TableWriter  # after the sweep has started

    progress = Progress(len(requests), sys.stderr) if sys.stderr.isatty() and len(requests) > 1 else None
    counts = dict.fromkeys(Outcome, 0)
    table = None if args.json else TableWriter(args.measure_protocol, sys.stdout)
    if args.json:
        from vantage.probe.measure.json_lines import write_json
    # Results carry their request's name for ICMP and TCP; DNS and HTTP rows read the results'
    # own details, so the names are needed only there.
    names = {request.key: request.name for request in requests} if args.measure_protocol != "icmp" else None
    async for batch in engine.run_batches(requests, prepared):
        for start in range(0, len(batch), OUTPUT_CHUNK):
            if start:  # let the sweep drain its socket between chunks (see OUTPUT_CHUNK)
                await asyncio.sleep(0)
            chunk = batch[start : start + OUTPUT_CHUNK]
            for result in chunk:
                counts[result.outcome] += 1
            if table is not None:
                table.write_batch(chunk, [names[r.key] for r in chunk] if names is not None else None)
            else:
                write_json(chunk, sys.stdout)
            if progress is not None:
                progress.step(len(chunk))
    sys.stdout.flush()
    return counts


def _write(results: list[MeasurementResult], args: argparse.Namespace, names: list[str] | None) -> None:
    """Results printed outside the engine's stream (unresolved names): a table of their own rows."""
    if args.json:
        from vantage.probe.measure.json_lines import write_json

        write_json(results, sys.stdout)
    else:
        from vantage.probe.measure.table import TableWriter

        TableWriter(args.measure_protocol, sys.stdout).write_batch(results, names)
