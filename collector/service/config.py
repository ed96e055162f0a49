"""The collector service's configuration, read once by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from vantage.collector.assignment.traces import DEFAULT_BASELINE_EVERY_S
from vantage.collector.bgp.sources import BgpSource
from vantage.collector.discovery.config import DEFAULT_BLOCK_BUDGET_PER_HOUR, DEFAULT_CAMPAIGN_RATE_PPS
from vantage.collector.service.auth_limit import FailureLimits
from vantage.collector.verdict.revisions import DEFAULT_REVISE_WINDOW_S
from vantage.collector.wire.validation import (
    DEFAULT_CLOCK_SKEW_S,
    DEFAULT_MAX_BATCH_ITEMS,
    DEFAULT_RETENTION_S,
    ValidationLimits,
)
from vantage.probe.daemon.scheduler import DEFAULT_MAX_OFFLINE_S

# A 5-minute round, as the brief asks: RIPE Atlas pings every 240 s, IODA
# aggregates per 5 minutes; detection "within minutes".
DEFAULT_ROUND_SECONDS = 300.0
# A batch of 1000 rich results is ~0.5-1 MiB; 16 MiB leaves room and still
# bounds what one message can make the collector allocate.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# An enrollment token nobody used within a week is probably lost.
DEFAULT_TOKEN_LIFETIME_S = 7 * 86400.0
# Atlas probes keep a session with the controller; one heartbeat a minute is
# cheap and tells a silent fleet within a round.
DEFAULT_HEARTBEAT_S = 60.0
# Results of a round keep arriving just after it ends (the last tasks, upload
# batching): wait a tenth of a round before computing it.
DEFAULT_ROUND_GRACE_FRACTION = 0.1
# A probe not heard from in 3 heartbeats or 2 rounds (the longer) is silent.
SILENT_AFTER_HEARTBEATS = 3
SILENT_AFTER_ROUNDS = 2
# How long after its round a plan's results are still believed (collector/service/issued_tasks.py):
# as long as a probe repeats the plan while it cannot reach a collector by default (its
# max_offline_s, probe/daemon/scheduler.py), so that what a probe measured through a day-long
# shutdown counts when it returns.
DEFAULT_PLAN_REPEAT_S = DEFAULT_MAX_OFFLINE_S


@dataclass(frozen=True, slots=True)
class CollectorConfig:
    collector_id: str
    round_seconds: float = DEFAULT_ROUND_SECONDS
    limits: ValidationLimits = field(default_factory=ValidationLimits)
    max_batch_items: int = DEFAULT_MAX_BATCH_ITEMS
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    round_grace_fraction: float = DEFAULT_ROUND_GRACE_FRACTION
    # Queries need a reader (or admin) credential when set.
    require_reader: bool = False
    # Discovery's politeness bounds (collector/discovery/config.py says where the numbers come
    # from): echo requests per /24 per hour, and per second over all campaigns.
    discovery_block_budget_per_hour: int = DEFAULT_BLOCK_BUDGET_PER_HOUR
    discovery_rate_pps: float = DEFAULT_CAMPAIGN_RATE_PPS
    # Schedule traceroutes (collector/assignment/traces.py): a baseline every few hours and
    # on-demand traces of DOWN/DEGRADED ASes, so that verdicts say where a cut is. Planned only
    # for probes that report raw sockets (ProbeCapabilities.raw_sockets): one with only the
    # unprivileged ICMP socket would report every trace as a failure. `--no-traceroutes` turns it off.
    traceroutes: bool = True
    # How often each target AS gets its baseline traces (3 hours; a lab with rounds of seconds
    # needs seconds).
    trace_baseline_s: float = DEFAULT_BASELINE_EVERY_S
    # Failed authentications per source address before it is refused for a while.
    auth_limits: FailureLimits = field(default_factory=FailureLimits)
    # Route feeds (`--bgp-source`, collector/bgp/sources.py): none unless asked; the routing
    # signal is then absent (CollectorApp.routing is None).
    bgp_sources: tuple[BgpSource, ...] = ()
    # How far back a late result revises computed rounds (collector/verdict/revisions.py).
    revise_window_s: float = DEFAULT_REVISE_WINDOW_S
    # How long after a plan's round its tasks' results are believed (`--plan-repeat`).
    plan_repeat_s: float = DEFAULT_PLAN_REPEAT_S

    @property
    def silent_after_s(self) -> float:
        return max(SILENT_AFTER_HEARTBEATS * self.heartbeat_s, SILENT_AFTER_ROUNDS * self.round_seconds)

    @property
    def retention_s(self) -> float:
        return self.limits.retention_s


__all__ = [
    "DEFAULT_CLOCK_SKEW_S",
    "DEFAULT_RETENTION_S",
    "CollectorConfig",
]
