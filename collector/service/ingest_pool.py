"""Ingest worker processes: decoding and validating large batches on every core.

Theory of operation:
- Decoding a batch and checking each item costs about 5 us per result, all
  of it under the GIL; with the gRPC loop and the commit in the same
  process, one collector process tops out near 85k results/s on two cores
  (bench/ingest.py). Sending each large batch's bytes to a worker process
  moves that half (`check_raw_batch`) off this interpreter: the collector
  then does only the locator lookups, the commit and the ack.
- Only batches of at least POOL_MIN_BYTES go to a worker: shipping a batch
  and its verdict through a pipe costs ~0.1-0.2 ms, more than checking a
  few dozen results in-thread.
- Workers are started with "spawn" (a forked copy of a process running
  gRPC's threads is not safe), in the background when the first large batch
  arrives; until they have started and imported the ingest code (~0.3 s
  each), batches are checked in-thread as before, so their start delays no
  batch, and a collector that only sees small batches (a lab, the tests)
  never starts them. They hold no state; a worker that dies
  (BrokenProcessPool) is replaced and that batch is checked in-thread, so a
  crash costs no batch.
- Workers exit when the collector closes the pool, or within a second of the
  collector's death: a kill -9 closes no pipe a worker is blocked on (they
  were found alive after `kill -9` by bench/soak.py), so each worker watches
  its parent process id and exits when it changes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from vantage.collector.service.ingest import CheckedBatch, check_raw_batch
from vantage.collector.wire.validation import ValidationLimits

log = logging.getLogger("vantage.collector")

# ~250 results of ~250 B: below this, checking in-thread is cheaper than the round trip.
POOL_MIN_BYTES = 64 * 1024


def default_processes() -> int:
    """One worker per core when there are several cores; none on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 else 0


PARENT_CHECK_S = 1.0  # how often a worker checks that the collector is alive


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent_pid:  # reparented: the collector is gone
            os._exit(0)


def _init_worker(parent_pid: int) -> None:
    """Workers leave Ctrl-C to the collector, which drains and closes the pool (a terminal
    sends SIGINT to the whole process group), and exit when the collector dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:
        os._exit(0)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def warm_up() -> int:
    """Run once in each new worker: the imports happen before the first batch needs them."""
    import vantage.collector.service.ingest  # noqa: F401

    return os.getpid()


class IngestPool:
    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._warming: list[Future[int]] = []
        self._lock = threading.Lock()
        self._closed = False

    def takes(self, raw: bytes) -> bool:
        """Whether this batch goes to a worker: a large one, once the workers are up (the first
        large batch starts them)."""
        if self.processes <= 0 or self._closed or len(raw) < POOL_MIN_BYTES:
            return False
        with self._lock:
            if self._executor is None:
                self._start()
                return False
            return all(future.done() for future in self._warming)

    def _start(self) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )
        # One warm-up per worker: the executor starts a process for each task no idle one takes.
        self._warming = [self._executor.submit(warm_up) for _ in range(self.processes)]
        log.info("ingest: starting %d worker processes for large batches", self.processes)

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._start()
            assert self._executor is not None
            return self._executor

    async def check(
        self, raw: bytes, *, probe_id: str, limits: ValidationLimits, max_items: int, now_unix_s: float
    ) -> CheckedBatch:
        """check_raw_batch in a worker process (or here, after replacing a broken pool)."""
        call = functools.partial(
            check_raw_batch, raw, probe_id=probe_id, limits=limits, max_items=max_items, now_unix_s=now_unix_s
        )
        executor = self._get()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenProcessPool:
            log.error("ingest: a worker process died; starting new ones and checking this batch here")
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            return await asyncio.to_thread(call)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
