"""Running `vantage probe measure`: the engine, then a table or JSON lines on stdout.

Results are printed as they complete (a sweep of 65k targets streams, like fping). The
progress bar goes to stderr, and only when stderr is a terminal, so that pipes and files get
clean output.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
import uuid
from collections.abc import Sequence
from typing import TextIO

from vantage import __version__
from vantage.cliutil import EXIT_FAILURE, CliError
from vantage.kinds import Outcome
from vantage.probe.engine import Engine, EngineLimits, IcmpUnavailable, MeasurementRequest, MeasurementResult
from vantage.probe.measure_output import TableWriter

# Redraw the progress bar at most 10 times a second: cheap even for 100k results/s.
PROGRESS_REDRAW_S = 0.1


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self._drawn_at = 0.0

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._drawn_at >= PROGRESS_REDRAW_S or self.done == self.total:
            self._drawn_at = now
            width = 30
            filled = width * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {self.done}/{self.total}")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def run_measurements(requests: Sequence[MeasurementRequest], args: argparse.Namespace) -> int:
    # A sweep holds hundreds of thousands of long-lived objects (the requests); freezing them
    # keeps the garbage collector from walking them again at every full collection.
    gc.freeze()
    try:
        limits = EngineLimits(max_rate_per_s=args.rate, max_concurrency=args.concurrency)
        counts = asyncio.run(_run(requests, limits, args))
    except IcmpUnavailable as exc:
        raise CliError(str(exc)) from None
    failed = counts[Outcome.FAILURE] + counts[Outcome.MISMATCH]
    return EXIT_FAILURE if failed else 0


async def _run(
    requests: Sequence[MeasurementRequest], limits: EngineLimits, args: argparse.Namespace
) -> dict[Outcome, int]:
    progress = Progress(len(requests), sys.stderr) if sys.stderr.isatty() and len(requests) > 1 else None
    counts = dict.fromkeys(Outcome, 0)
    table = None if args.json else TableWriter(args.measure_protocol, sys.stdout)
    by_key = {request.key: request for request in requests}
    async for result in Engine(limits).run(requests):
        counts[result.outcome] += 1
        if table is not None:
            table.write(result, by_key[result.key])
        else:
            _write_json(result)
        if progress is not None:
            progress.step()
    sys.stdout.flush()
    return counts


def _write_json(result: MeasurementResult) -> None:
    from google.protobuf.json_format import MessageToDict

    from vantage.probe.convert import result_to_proto

    measurement = result_to_proto(
        result, probe_id="", measurement_id=str(uuid.uuid4()), probe_version=__version__
    )
    document = MessageToDict(measurement, preserving_proto_field_name=True)
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")
