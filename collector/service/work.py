"""GetWork's planner: this round's tasks for one probe, from the pure `assign_round`
(collector/assignment/plan.py).

The assignment over the whole fleet is computed once per round and cached;
it is recomputed when the fleet or the target list changed (a probe asking
that is not in it, a target import). Every task handed out is recorded, so
that the round computation knows each measurement's task kind.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from vantage.collector.assignment.plan import AssignmentConfig, ProbeSlot, TargetSlot, TaskSpec, assign_round
from vantage.collector.assignment.traces import TraceConfig, plan_traces
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.issued_tasks import issued_target
from vantage.collector.storage.records import IssuedTask, ProbeRecord, TargetRecord
from vantage.collector.targets.files import tag_values
from vantage.collector.targets.hostnames import parse_http_url
from vantage.collector.verdict.model import Status
from vantage.collector.wire.tasks import task_to_proto
from vantage.kinds import Protocol
from vantage.v1 import probe_service_pb2

log = logging.getLogger("vantage.collector")

# A task must finish inside its round, or its result arrives after the round was
# computed and counts for nothing. The probe's own defaults (HTTP 10 s, DNS/TCP
# 5 s, ICMP 3 x 1 s) fit 5-minute rounds; rounds shorter than this get timeouts
# scaled to half the round (for the few-second
# rounds of `vantage lab`).
SHORT_ROUND_SECONDS = 30.0
# A plan is re-derived from storage at most every tenth of a round (unless the
# asking probe is new or moved): a target import shows within that time.
PLAN_REFRESH_SHARE = 0.1
SHORT_ROUND_TASK_SHARE = 0.5
# Addresses refused by the address policy are logged once each, up to this many.
REFUSED_WARNED_LIMIT = 1000


def config_for_round(round_seconds: float) -> AssignmentConfig:
    if round_seconds >= SHORT_ROUND_SECONDS:
        return AssignmentConfig()
    budget_ms = max(200, int(round_seconds * 1000 * SHORT_ROUND_TASK_SHARE))
    # ICMP: 3 echoes spread over a third of the budget, each waiting at most the rest.
    return AssignmentConfig(timeout_ms=budget_ms, icmp_count=3, icmp_interval_ms=max(20, budget_ms // 6))


class WorkPlanner:
    def __init__(self, app: CollectorApp, config: AssignmentConfig | None = None) -> None:
        self.app = app
        self.config = config or config_for_round(app.config.round_seconds)
        self._lock = threading.Lock()
        self._cache_key: tuple[Any, ...] | None = None
        self._cache: dict[str, list[TaskSpec]] = {}
        self._cache_fleet: dict[str, tuple[Any, ...]] = {}
        self._cache_tracing: frozenset[str] = frozenset()
        self._cache_at = float("-inf")
        self._refused_warned: set[str] = set()

    def tasks_for(self, probe: ProbeRecord, round_number: int) -> list[probe_service_pb2.Task]:
        """Blocking (storage reads): run on a worker thread."""
        specs = self._assignment(round_number, probe).get(probe.probe_id, [])
        guard = self.app.guard
        permitted = [spec for spec in specs if guard.permits(spec.address)]
        refused = [spec for spec in specs if not guard.permits(spec.address)]
        if refused and refused[0].address not in self._refused_warned:
            # Once per address (bounded), not every round for every probe.
            if len(self._refused_warned) < REFUSED_WARNED_LIMIT:
                self._refused_warned.add(refused[0].address)
            log.warning(
                "round %d: %d task(s) for probe %s refused by the address policy (e.g. %s: %s)",
                round_number,
                len(specs) - len(permitted),
                probe.probe_id,
                refused[0].address,
                guard.reason(refused[0].address),
            )
        tasks = [task_to_proto(spec) for spec in permitted]
        # What a result of each task must echo of its target, from the specs: their strings
        # are shared by every probe given the target (issued_tasks.py keeps them).
        targets = [
            issued_target(round_number, int(spec.protocol), spec.target_id, spec.address or "")
            for spec in permitted
        ]
        self.app.storage.record_tasks(
            [
                IssuedTask(
                    task_id=t.id,
                    round=round_number,
                    probe_id=probe.probe_id,
                    target_id=target.target_id,
                    kind=t.kind,
                    protocol=target.protocol,
                    address=target.address,
                )
                for t, target in zip(tasks, targets, strict=True)
            ]
        )
        # After the commit: ingest believes results of exactly these (issued_tasks.py).
        self.app.issued_tasks.note(probe.probe_id, zip([t.id for t in tasks], targets, strict=True))
        return tasks

    def _assignment(self, round_number: int, asking: ProbeRecord) -> dict[str, list[TaskSpec]]:
        # Fast path: every probe calls GetWork once a round; re-reading the whole fleet and
        # target list for each would cost O(probes) per call. A plan younger than a tenth of
        # a round that already holds the asking probe, as it is now, is served as it is.
        with self._lock:
            fresh = time.monotonic() - self._cache_at < self.app.config.round_seconds * PLAN_REFRESH_SHARE
            if (
                fresh
                and self._cache_key is not None
                and self._cache_key[0] == round_number
                and self._cache_fleet.get(asking.probe_id) == _probe_key(asking)
                # A probe that just said it can (or cannot) trace is planned again.
                and (asking.probe_id in self._cache_tracing)
                == (asking.probe_id in self.app.raw_socket_probes)
            ):
                return self._cache
        storage = self.app.storage
        probes = [p for p in storage.list_probes() if not p.revoked]
        targets = storage.list_targets()
        campaigns = [c for c in storage.list_campaigns() if c.active]
        affected = self._affected_ases() if self.app.config.traceroutes else ()
        key = (
            round_number,
            tuple(_probe_key(p) for p in probes),
            tuple((t.target_id, t.protocols, t.asn, t.country, t.tags) for t in targets),
            tuple(campaigns),
            id(self.app.guard.policy),
            affected,
            tracing := self.app.raw_socket_probes,
        )
        with self._lock:
            if key == self._cache_key:
                self._cache_at = time.monotonic()
                return self._cache
        slots = [probe_slot(p) for p in probes]
        result = assign_round(slots, [target_slot(t) for t in targets], round_number, self.config)
        if campaigns:  # this round's census echoes (service/discovery.py), kind DISCOVERY
            census = self.app.discovery.census_tasks(
                slots, round_number, self.app.guard.policy, self.config.timeout_ms, campaigns
            )
            for probe_id, specs in census.items():
                result.setdefault(probe_id, []).extend(specs)
        if self.app.config.traceroutes:  # the baseline and on-demand traces (assignment/traces.py)
            config = self.app.config
            trace_config = TraceConfig.for_round_length(config.round_seconds, config.trace_baseline_s)
            tracers = [slot for slot in slots if slot.probe_id in tracing]  # raw sockets: they can
            traces = plan_traces(
                tracers,
                [target_slot(t) for t in targets],
                round_number,
                dict.fromkeys(affected),
                trace_config,
            )
            for probe_id, specs in traces.items():
                result.setdefault(probe_id, []).extend(specs)
        with self._lock:
            self._cache_key, self._cache = key, result
            self._cache_fleet = {p.probe_id: _probe_key(p) for p in probes}
            self._cache_tracing = tracing
            self._cache_at = time.monotonic()
        return result

    def _affected_ases(self) -> tuple[int, ...]:
        """The ASes DOWN or DEGRADED in the latest round: they are traced on demand."""
        statuses = (int(Status.DOWN), int(Status.DEGRADED))
        affected: list[int] = []
        after = 0
        while True:
            page = self.app.storage.latest_as_verdicts(statuses=statuses, after_asn=after, limit=1000)
            affected.extend(v.asn for v in page)
            if len(page) < 1000:
                return tuple(affected)
            after = page[-1].asn


def _probe_key(probe: ProbeRecord) -> tuple[Any, ...]:
    """What of a probe the assignment depends on."""
    return (probe.probe_id, probe.asn, probe.country, probe.capability_icmp, probe.capability_ipv6)


def probe_slot(probe: ProbeRecord) -> ProbeSlot:
    return ProbeSlot(
        probe_id=probe.probe_id,
        asn=probe.asn,
        country=probe.country,
        icmp=probe.capability_icmp,
        ipv6=probe.capability_ipv6,
    )


def target_slot(target: TargetRecord) -> TargetSlot:
    """As TargetSlot.from_row, from a stored target (its AS/country already looked up at import)."""
    address = name = url = ""
    ports = tag_values(target.tags, "port")
    port = int(ports[0]) if ports else 0
    if target.kind == "address":
        address = target.address or target.target
    elif target.kind == "hostname":
        name = target.target
    else:
        parsed = parse_http_url(target.target)
        url = target.target
        address, name = (parsed.host, "") if parsed.host_is_address else ("", parsed.host)
        port = port or parsed.port
    return TargetSlot(
        target_id=target.target_id,
        address=address,
        name=name,
        url=url,
        port=port,
        protocols=tuple(Protocol(p) for p in target.protocols),
        asn=target.asn,
        country=target.country,
        tags=target.tags,
    )
