"""The probe daemon's main loop (asyncio): enroll, then measure, upload and beat.

Three loops share one stop event. The measuring loop asks the pure scheduler
what to do (fetch a plan, run a round, wait) and does it; results go to the
outbox. The uploader drains the outbox to the collectors. The heartbeat loop
says the probe is alive. SIGTERM/SIGINT set the stop event: the current round
stops after committing what it measured, the uploader finishes the batches it
has in flight, and the process exits 0. SIGKILL loses nothing committed.

Wall time (time.time) is used for timestamps and round boundaries, which are
wall-clock by nature; monotonic time (inside Link and the engine) for delays
and durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import socket
import time
from dataclasses import replace
from typing import Any

from prometheus_client import CollectorRegistry

from vantage.probe.daemon import wire
from vantage.probe.daemon.backoff import (
    DEFAULT_INITIAL_DELAY_S,
    DEFAULT_MIN_DELAY_S,
    BackoffPolicy,
    backoff_delay_s,
)
from vantage.probe.daemon.config import DaemonConfig
from vantage.probe.daemon.credentials import (
    Credential,
    ensure_state_dir,
)
from vantage.probe.daemon.enroll import FatalError, obtain_credential
from vantage.probe.daemon.heartbeat import run_heartbeats
from vantage.probe.daemon.host import icmp_available, ipv6_routable, lock_state_dir, raw_sockets_available
from vantage.probe.daemon.link import Link, LinkDown, watch_network
from vantage.probe.daemon.metrics import ProbeMetrics, start_metrics_server
from vantage.probe.daemon.outbox import AsyncOutbox, open_outbox
from vantage.probe.daemon.plan import PlannedTask, RoundPlan, task_packets
from vantage.probe.daemon.planstore import load_plan, save_plan
from vantage.probe.daemon.policy import SafetyPolicy, address_guard, build_policy, cap_plan, rate_saturation
from vantage.probe.daemon.round_tasks import ResultWriter, RoundContext, run_round
from vantage.probe.daemon.scheduler import Action, PlanTiming, ScheduleState, next_step, upload_hold_back_s
from vantage.probe.daemon.uploader import Uploader

log = logging.getLogger("vantage.probe")

# Bounds on everything that happens after SIGTERM, so that systemd's stop
# timeout (TimeoutStopSec=60 in deploy/systemd) is never reached.
SHUTDOWN_TIMEOUT_S = 45.0
# Never sleep longer than this in one go: a wall-clock jump (NTP step, suspend)
# is noticed within a minute.
MAX_SLEEP_S = 60.0
# How long one GetWork may wait for an answer. In a shutdown the collector is
# often unreachable without an error (routes withdrawn: no RST, no ICMP), so the
# wait is bounded by half a round as soon as the round length is known: a probe
# inside a cut-off network then falls back to its last plan and keeps measuring
# (store-and-forward) instead of losing most of the round to one hung call.
DEFAULT_GET_WORK_TIMEOUT_S = 30.0
MIN_GET_WORK_TIMEOUT_S = 1.0


def reconnect_policy(retry_max_s: float, heartbeat_s: float) -> BackoffPolicy:
    """The probe's retry policy: never wait longer than one heartbeat interval.

    A collector that comes back is then reached within one heartbeat interval
    (the link also bounds gRPC's channel backoff by this policy). Full jitter
    still spreads a fleet's retries over that interval.
    """
    max_delay_s = min(retry_max_s, heartbeat_s)
    initial_delay_s = min(DEFAULT_INITIAL_DELAY_S, max_delay_s)
    return BackoffPolicy(
        initial_delay_s=initial_delay_s,
        max_delay_s=max_delay_s,
        min_delay_s=min(DEFAULT_MIN_DELAY_S, initial_delay_s),
    )


def get_work_timeout_s(round_length_s: float | None) -> float:
    if round_length_s is None:
        return DEFAULT_GET_WORK_TIMEOUT_S
    return max(MIN_GET_WORK_TIMEOUT_S, min(DEFAULT_GET_WORK_TIMEOUT_S, round_length_s / 2))


class Daemon:
    def __init__(
        self, config: DaemonConfig, *, version: str, rng: random.Random, registry: CollectorRegistry
    ):
        self.config = config
        self.version = version
        self.rng = rng
        self.metrics = ProbeMetrics(registry)
        self.metrics.set_version(version)
        self.policy: SafetyPolicy = build_policy(
            max_rate_per_s=config.max_rate,
            max_concurrency=config.max_concurrency,
            max_tasks_per_round=config.max_tasks_per_round,
            allow_ranges=config.allow_range,
            max_icmp_count=config.max_icmp_count,
            max_timeout_ms=config.max_timeout_ms,
            max_interval_ms=config.max_interval_ms,
        )
        self.backoff = reconnect_policy(config.retry_max_seconds, config.heartbeat_seconds)
        self.link = Link(
            config.collectors,
            pool_key=config.name or socket.gethostname(),
            plaintext=config.plaintext,
            ca_file=config.ca_file,
            backoff=self.backoff,
            revoked_backoff_s=config.revoked_backoff_seconds,
            rng=rng,
            metrics=self.metrics,
            plan_decoder=wire.plan_decoder(config.max_tasks_per_round),
        )
        self.stop = asyncio.Event()
        self.capabilities = wire.capabilities(
            icmp=icmp_available(), ipv6=ipv6_routable(), raw_sockets=raw_sockets_available()
        )
        self.credential: Credential | None = None
        self.uploader: Uploader | None = None
        self.round_length_s: float | None = None

    # ------------------------------------------------------------ enrollment

    async def enroll(self) -> Credential:
        return await obtain_credential(
            self.config, self.link, capabilities=self.capabilities, version=self.version, stop=self.stop
        )

    # ------------------------------------------------------------ measuring

    async def measure_loop(self, outbox: AsyncOutbox, writer: ResultWriter) -> None:
        from vantage.probe.engine import Engine, EngineLimits

        assert self.credential is not None
        engine = Engine(
            EngineLimits(
                max_rate_per_s=self.policy.max_rate_per_s,
                max_concurrency=self.policy.max_concurrency,
                address_guard=address_guard(self.policy),
            )
        )
        state = ScheduleState(plan=None, last_run_round=None, max_offline_s=self.config.max_offline_seconds)
        tasks: tuple[PlannedTask, ...] = ()
        # Measure from the saved plan even if no collector answers after a restart.
        restored = load_plan(self.config.state_dir)
        if restored is not None:
            state = replace(state, plan=restored.timing)
            self.round_length_s = restored.timing.round_length_s
            tasks = self._accept_plan(restored, new_round=False)
            log.info("restored the plan of round %d (%d tasks)", restored.timing.round, len(tasks))
        fetch_failures = 0
        while not self.stop.is_set():
            now = time.time()
            step = next_step(state, now)
            if step.at_s > now:
                await _sleep(self.stop, min(step.at_s - now, MAX_SLEEP_S))
                continue
            if step.action is Action.FETCH:
                try:
                    reply = await self.link.unary("GetWork", self._get_work)
                except LinkDown as down:
                    fetch_failures += 1
                    delay_s = max(down.wait_s, backoff_delay_s(fetch_failures, self.backoff, self.rng))
                    state = replace(state, fetch_not_before_s=time.time() + delay_s, last_fetch_failed=True)
                    continue
                received_at = time.time()
                try:
                    received, encoded = wire.received_plan(reply, received_at)
                except ValueError as exc:
                    log.error("unusable work plan from the collector: %s", exc)
                    fetch_failures += 1
                    delay_s = backoff_delay_s(fetch_failures, self.backoff, self.rng)
                    state = replace(state, fetch_not_before_s=time.time() + delay_s, last_fetch_failed=True)
                    continue
                fetch_failures = 0
                self.round_length_s = received.timing.round_length_s
                try:
                    save_plan(self.config.state_dir, encoded, received_at)
                except OSError as exc:  # a full disk: measure from memory, keep the probe alive
                    log.error(
                        "cannot save the work plan in %s (%s): measuring from memory",
                        self.config.state_dir,
                        exc,
                    )
                new_round = state.plan is None or received.timing.round != state.plan.round
                tasks = self._accept_plan(received, new_round)
                state = replace(
                    state,
                    plan=received.timing,
                    fetch_not_before_s=self._next_fetch_s(received.timing),
                    last_fetch_failed=False,
                )
            elif step.action is Action.RUN:
                if step.offline and self.link.revoked:
                    # The operator revoked this probe: measuring on from a stale plan would go
                    # against that, and its results could never be delivered.
                    log.debug("credential rejected: round %d not measured", step.round)
                    state = replace(state, last_run_round=step.round)
                    continue
                context = RoundContext(self.credential.probe_id, step.round, self.version, step.offline)
                if step.offline:
                    self.metrics.offline_rounds.inc()
                    log.info("no collector answers: repeating the last plan as round %d", step.round)
                started = time.monotonic()
                try:
                    written = await run_round(
                        tasks,
                        context,
                        engine=engine,
                        policy=self.policy,
                        writer=writer,
                        metrics=self.metrics,
                        stop=self.stop,
                    )
                except Exception:  # a bug or a full disk: say so, skip this round, keep the probe alive
                    log.exception("round %d failed; going on with the next round", step.round)
                    written = 0
                log.info(
                    "round %d: %d results written in %.1f s", step.round, written, time.monotonic() - started
                )
                self.metrics.round.set(step.round)
                state = replace(state, last_run_round=step.round)

    def _next_fetch_s(self, timing: PlanTiming) -> float:
        """Not before the next round (plus jitter), nor sooner than a short pause.

        The jitter (up to 5 % of a round, 10 s at most) spreads a fleet's GetWork calls
        instead of having every probe call at the same instant; the short pause keeps a
        probe that got the round it already ran (the collector has not moved on yet)
        from asking again in a tight loop.
        """
        length_s = timing.round_length_s
        jitter_s = self.rng.random() * min(10.0, 0.05 * length_s)
        pause_s = min(5.0, max(0.5, length_s / 50))
        return max(time.time() + pause_s, timing.start_of(timing.round + 1) + jitter_s)

    def _get_work(self, stub: Any, metadata: Any) -> Any:
        request = wire.get_work_request(self.capabilities, self.version)
        return stub.GetWork(request, metadata=metadata, timeout=get_work_timeout_s(self.round_length_s))

    def _accept_plan(self, received: RoundPlan, new_round: bool) -> tuple[PlannedTask, ...]:
        """The tasks the probe takes on: the plan, cut to the local cap (logged and counted)."""
        taken = cap_plan(len(received.tasks), self.policy)
        tasks = received.tasks[:taken]
        if new_round:
            offered = len(received.tasks) + received.tasks_cut  # the cut while decoding, too
            cut = offered - taken
            if cut:
                self.metrics.refused.labels(reason="over-task-cap").inc(cut)
                log.warning(
                    "round %d: the plan has %d tasks, more than --max-tasks-per-round %d: %d not measured",
                    received.timing.round,
                    offered,
                    taken,
                    cut,
                )
            self._observe_plan(received, tasks)
        return tasks

    def _observe_plan(self, received: RoundPlan, tasks: tuple[PlannedTask, ...]) -> None:
        packets = sum(task_packets(task) for task in tasks)
        saturation = rate_saturation(packets, received.timing.round_length_s, self.policy)
        self.metrics.work_plan_tasks.set(len(tasks))
        self.metrics.rate_saturation.set(saturation)
        self.metrics.clock_offset.set(received.clock_offset_s)
        log.info(
            "round %d: work plan of %d tasks (%d packets, %.0f%% of the rate cap)",
            received.timing.round,
            len(tasks),
            packets,
            100 * saturation,
        )
        if saturation > 1:
            log.warning(
                "the plan needs %.0f packets/s but --max-rate is %.0f: rounds will overrun",
                saturation * self.policy.max_rate_per_s,
                self.policy.max_rate_per_s,
            )
        tolerance = received.clock_skew_tolerance_s
        hold_back_s = upload_hold_back_s(received.clock_offset_s, tolerance)
        if self.uploader is not None:
            self.uploader.hold_back_s = hold_back_s
        if hold_back_s > 0:
            log.warning(
                "this host's clock is %.1f s ahead of the collector's (tolerance %.1f s): results are held "
                "%.0f s before upload so that they are not rejected as from the future; fix NTP",
                -received.clock_offset_s,
                tolerance,
                hold_back_s,
            )

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        ensure_state_dir(self.config.state_dir)
        lock = lock_state_dir(self.config.state_dir)
        server = None
        outbox = AsyncOutbox(open_outbox(self.config.state_dir, self.config.outbox_max_results))
        try:
            depth, oldest, dropped = await outbox.stats()
            self.metrics.observe_outbox(depth, oldest)
            log.info("outbox %s: %d results waiting, %d dropped in total", outbox.sync.path, depth, dropped)
            if self.config.metrics:
                try:
                    server, port = start_metrics_server(self.metrics.registry, self.config.metrics)
                except OSError as exc:
                    where = self.config.metrics
                    raise FatalError(f"cannot serve metrics on {where}: {exc.strerror}") from None
                host = self.config.metrics.rpartition(":")[0]
                log.info("metrics on http://%s:%d/metrics", host, port)
            try:
                self.credential = await self.enroll()
            except asyncio.CancelledError:
                return 0
            self.link.secret = self.credential.secret
            self.link.rekey(self.credential.probe_id)
            uploader = Uploader(outbox, self.link, self.metrics, batch_size=self.config.batch_size)
            self.uploader = uploader
            writer = ResultWriter(outbox, self.metrics, uploader.wake)
            loops = [
                asyncio.create_task(self.measure_loop(outbox, writer), name="measure"),
                asyncio.create_task(uploader.run(self.stop), name="upload"),
                asyncio.create_task(
                    run_heartbeats(
                        self.link,
                        outbox,
                        interval_s=self.config.heartbeat_seconds,
                        version=self.version,
                        stop=self.stop,
                    ),
                    name="heartbeat",
                ),
                asyncio.create_task(watch_network(self.link, self.stop), name="network-watch"),
            ]
            return await self._supervise(loops)
        finally:
            await self.link.close()
            await outbox.close()
            if server is not None:
                server.shutdown()
            lock.close()

    async def _supervise(self, loops: list[asyncio.Task[None]]) -> int:
        stop_waiter: asyncio.Task[Any] = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait([*loops, stop_waiter], return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in done if task is not stop_waiter and task.exception() is not None]
        self.stop.set()
        _, pending = await asyncio.wait(loops, timeout=SHUTDOWN_TIMEOUT_S)
        for task in pending:
            log.warning("%s did not stop in %.0f s; cancelling it", task.get_name(), SHUTDOWN_TIMEOUT_S)
            task.cancel()
        stop_waiter.cancel()
        for task in failed:
            log.error("%s loop failed", task.get_name(), exc_info=task.exception())
        if failed:
            return 1
        log.info("probe stopped cleanly")
        return 0

    def _on_signal(self, signum: int) -> None:
        log.info("%s received: finishing the current batch, then exiting", signal.Signals(signum).name)
        self.stop.set()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.001, seconds))


async def run_daemon(config: DaemonConfig, *, version: str, seed: int | None = None) -> int:
    daemon = Daemon(config, version=version, rng=random.Random(seed), registry=CollectorRegistry())
    return await daemon.run()
