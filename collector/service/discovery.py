"""Target discovery in the collector: the edge around the pure core in collector/discovery/.

Theory of operation:
- A campaign is a storage row (CampaignRecord); the blocks it covers come from the loaded
  datasets (Locator.ipv4_ranges, split into /24 spans) and are cached per campaign and dataset
  generation; everything else follows from time and the block histories. So a restarted
  collector resumes where it was, and two collectors on one database plan the same work.
- GetWork (service/work.py) adds `census_tasks` to each round's plan: the core's
  plan_discovery_round, one call per distinct (census period, refresh) of the active
  campaigns, as TaskKind.DISCOVERY ICMP tasks of one echo. Which probe gets an address is a
  rendezvous choice over the fleet alone, so even when two collectors read the histories at
  different moments an address is never given to two probes in one round.
- After a round is computed (round_loop.py, by the collector that claimed it), `after_round`
  folds its discovery results into the block histories (core apply_results), then selection
  upserts and retires the discovered targets (storage.sync_discovered_targets: a
  hand-imported target always wins).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.assignment.rendezvous import pair_weight, stable_hash64
from vantage.collector.assignment.task_specs import TaskSpec
from vantage.collector.discovery.campaigns import Campaign, CampaignProgress, campaign_progress
from vantage.collector.discovery.census import epoch_of, first_census_complete
from vantage.collector.discovery.config import CoverageThresholds, DiscoveryConfig, SelectionConfig
from vantage.collector.discovery.coverage import AsCoverage, as_coverage, summarise_space
from vantage.collector.discovery.history import BlockHistory, apply_results
from vantage.collector.discovery.plan import CampaignBlock, DiscoveryTask, plan_discovery_round
from vantage.collector.discovery.policy import AddressPolicy
from vantage.collector.discovery.selection import (
    Ipv6Candidate,
    SelectedIpv6Target,
    SelectedTarget,
    select_ipv6_targets,
    select_targets,
    target_changes,
)
from vantage.collector.discovery.space import BlockSpan, block_cidr, parse_block_cidr, split_into_blocks
from vantage.collector.storage.base import Storage
from vantage.collector.storage.records import (
    DISCOVERY_SOURCE,
    BlockHistoryRecord,
    CampaignRecord,
    RoundMeasurement,
    TargetRecord,
    UpsertCounts,
)
from vantage.collector.wire.targets import target_id
from vantage.kinds import Outcome, Protocol, TaskKind

log = logging.getLogger("vantage.collector")

# Discovery tasks name their block as the target: "block:198.51.100.0/24".
BLOCK_TARGET_PREFIX = "block:"
_KIND_SALT = stable_hash64("kind:DISCOVERY")


def to_campaign(record: CampaignRecord) -> Campaign:
    return Campaign(
        campaign_id=record.campaign_id,
        asns=record.asns,
        countries=record.countries,
        started_unix_s=record.created_at_unix_s,
        cancelled=not record.active,
    )


@dataclass(frozen=True, slots=True)
class DiscoveryBounds:
    """The collector-wide politeness bounds (--discovery-budget, --discovery-rate)."""

    block_budget_per_hour: int
    rate_pps: float

    def config(self, census_period_s: float, refresh_s: float) -> DiscoveryConfig:
        """The core's config for campaigns of this census period and refresh."""
        return DiscoveryConfig(
            census_period_s=census_period_s,
            refresh_period_s=refresh_s,
            block_budget_per_hour=self.block_budget_per_hour,
            campaign_rate_pps=self.rate_pps,
        )


def task_spec(task: DiscoveryTask, probe_id: str, round_number: int, timeout_ms: int) -> TaskSpec:
    """A census echo as a TaskSpec: ICMP, one packet, its block named as the target."""
    identity = pair_weight(stable_hash64(probe_id) ^ _KIND_SALT, stable_hash64(task.address))
    return TaskSpec(
        task_id=f"r{round_number}-{identity:016x}",
        kind=TaskKind.DISCOVERY,
        protocol=Protocol.ICMP,
        target_id=BLOCK_TARGET_PREFIX + block_cidr(task.block),
        address=task.address,
        count=1,
        timeout_ms=timeout_ms,
    )


def history_of(row: BlockHistoryRecord) -> BlockHistory:
    """A stored IPv4 block's history in the core's form."""
    return BlockHistory.from_blob(parse_block_cidr(row.block), row.epoch, row.history)


def discovered_target(selected: SelectedTarget, now_unix_s: float) -> TargetRecord:
    """A selected responder as an ordinary target (source "discovery"), measured by ICMP."""
    return TargetRecord(
        target_id=target_id(selected.address),
        target=selected.address,
        kind="address",
        protocols=(int(Protocol.ICMP),),
        country=selected.country,
        asn=selected.asn,
        tags=(f"block:{block_cidr(selected.block)}",),
        source=DISCOVERY_SOURCE,
        address=selected.address,
        added_at_unix_s=now_unix_s,
    )


def discovered_ipv6_target(selected: SelectedIpv6Target, now_unix_s: float) -> TargetRecord:
    """An IPv6 hitlist address as an ordinary target (source "discovery"), measured by ICMP."""
    address = str(ipaddress.IPv6Address(selected.address))
    block = ipaddress.IPv6Network((selected.block << 80, 48))
    return TargetRecord(
        target_id=target_id(address),
        target=address,
        kind="address",
        protocols=(int(Protocol.ICMP),),
        country=selected.country,
        asn=selected.asn,
        tags=(f"block:{block}",),
        source=DISCOVERY_SOURCE,
        address=address,
        added_at_unix_s=now_unix_s,
    )


@dataclass(frozen=True, slots=True)
class CampaignSpace:
    campaign: CampaignRecord
    spans: tuple[BlockSpan, ...]


def round_results(measurements: Iterable[RoundMeasurement]) -> dict[int, tuple[set[int], set[int]]]:
    """The round's discovery results per block key: (answered, probed) address integers. A task
    the probe refused sent nothing, so it probed nothing."""
    found: dict[int, tuple[set[int], set[int]]] = {}
    for m in measurements:
        if m.kind != TaskKind.DISCOVERY or m.outcome == Outcome.REFUSED_BY_POLICY:
            continue
        try:
            address = ipaddress.IPv4Address(m.target_address)
        except ValueError:
            continue
        value = int(address)
        answered, probed = found.setdefault(value >> 8, (set(), set()))
        probed.add(value)
        if m.outcome == Outcome.OK:
            answered.add(value)
    return found


class DiscoveryRuntime:
    """Per-collector caches over the campaigns; every answer is recomputable from storage."""

    def __init__(self, storage: Storage, locator: Any, round_seconds: float, bounds: DiscoveryBounds) -> None:
        self.storage = storage
        self.locator = locator
        self.round_seconds = round_seconds
        self.bounds = bounds
        self._lock = threading.Lock()
        self._spaces: dict[tuple[int, str], CampaignSpace] = {}

    # ------------------------------------------------------------ campaign space
    def space(self, record: CampaignRecord) -> CampaignSpace:
        key = (self.locator.generation, record.campaign_id)
        with self._lock:
            cached = self._spaces.get(key)
        if cached is not None and cached.campaign == record:
            return cached
        ranges = self.locator.ipv4_ranges(asns=record.asns, countries=record.countries)
        made = CampaignSpace(record, tuple(split_into_blocks(ranges)))
        with self._lock:
            self._spaces = {k: v for k, v in self._spaces.items() if k[0] == key[0]}
            self._spaces[key] = made
        return made

    def active_campaigns(self) -> list[CampaignRecord]:
        return [c for c in self.storage.list_campaigns() if c.active]

    # ------------------------------------------------------------ planning (GetWork)
    def census_tasks(
        self,
        probes: Sequence[ProbeSlot],
        round_number: int,
        policy: AddressPolicy,
        timeout_ms: int,
        campaigns: Sequence[CampaignRecord] | None = None,
    ) -> dict[str, list[TaskSpec]]:
        """Every probe's discovery tasks of the round (blocking: storage reads)."""
        active = self.active_campaigns() if campaigns is None else [c for c in campaigns if c.active]
        plan: dict[str, list[TaskSpec]] = {}
        if not active:
            return plan
        groups: dict[tuple[float, float], list[CampaignRecord]] = {}
        for record in active:
            groups.setdefault((record.census_period_s, record.refresh_s), []).append(record)
        given: set[str] = set()  # never one address twice in a round, across groups
        for (period_s, refresh_s), records in sorted(groups.items()):
            blocks = [
                CampaignBlock(record.campaign_id, span)
                for record in records
                for span in self.space(record).spans
            ]
            keys = sorted({block_cidr(b.span.block) for b in blocks})
            stored = self.storage.load_blocks(keys)
            histories = {
                parse_block_cidr(k): BlockHistory.from_blob(parse_block_cidr(k), row.epoch, row.history)
                for k, row in stored.items()
            }
            tasks = plan_discovery_round(
                [to_campaign(r) for r in records],
                blocks,
                probes,
                round_number,
                self.round_seconds,
                self.bounds.config(period_s, refresh_s),
                policy,
                histories,
            )
            for probe_id, found in tasks.items():
                for task in found:
                    if task.address in given:
                        continue
                    given.add(task.address)
                    plan.setdefault(probe_id, []).append(task_spec(task, probe_id, round_number, timeout_ms))
        return plan

    # ------------------------------------------------------------ after a round
    def after_round(
        self, round_number: int, measurements: Iterable[RoundMeasurement], now_unix_s: float
    ) -> int:
        """Fold the round's discovery results into block histories; returns blocks updated."""
        results = round_results(measurements)
        if not results:
            return 0
        periods = self._block_periods()
        round_mid = (round_number + 0.5) * self.round_seconds
        keys = {block: block_cidr(block) for block in results}
        stored = self.storage.load_blocks(keys.values())
        updated: list[BlockHistoryRecord] = []
        for block, (answered, probed) in sorted(results.items()):
            period = periods.get(block)
            if period is None:
                continue  # no campaign covers it any more
            epoch = epoch_of(round_mid, period)
            row = stored.get(keys[block])
            history = (
                BlockHistory.from_blob(block, row.epoch, row.history)
                if row is not None
                else BlockHistory.empty(block, epoch)
            )
            history = apply_results(history, epoch, answered, probed)
            asn, country = self.locator.locate(str(ipaddress.IPv4Address(block << 8)))
            updated.append(
                BlockHistoryRecord(
                    block=keys[block],
                    epoch=history.epoch,
                    history=history.to_blob(),
                    asn=asn,
                    country=country,
                    updated_at_unix_s=now_unix_s,
                )
            )
        self.storage.store_blocks(updated)
        return len(updated)

    def _block_periods(self) -> dict[int, float]:
        """Block key -> census period of the campaign that owns it (the earliest active one)."""
        periods: dict[int, float] = {}
        for record in self.active_campaigns():  # ordered by creation: the first owner wins
            for span in self.space(record).spans:
                periods.setdefault(span.block, record.census_period_s)
        return periods

    # ------------------------------------------------------------ selection
    def refresh_targets(
        self, now_unix_s: float, *, extra_asns: Iterable[int] = (), config: SelectionConfig | None = None
    ) -> UpsertCounts:
        """Per AS of the active campaigns (and `extra_asns`: those a hitlist import touched), the
        core's selection over the stored histories becomes the discovered targets (new ones
        added, dead ones retired)."""
        config = config or SelectionConfig()
        campaign_asns = {
            span.asn for record in self.active_campaigns() for span in self.space(record).spans if span.asn
        }
        asns = sorted(campaign_asns | {asn for asn in extra_asns if asn})
        if not asns:
            return UpsertCounts(imported=0, updated=0)
        targets = self.storage.list_targets()
        # Hand-imported targets win, and what the operator removed stays removed.
        hand_imported = {t.address for t in targets if t.source != DISCOVERY_SOURCE and t.address}
        hand_imported |= self.storage.declined_targets()
        current: dict[int, set[str]] = {}
        for t in targets:  # IPv6 ones come from hitlists only, and no census retires them
            if t.source == DISCOVERY_SOURCE and ":" not in t.address:
                current.setdefault(t.asn, set()).add(t.address)
        ranges = self.locator.ipv4_ranges(asns=asns)
        histories = {
            parse_block_cidr(row.block): BlockHistory.from_blob(
                parse_block_cidr(row.block), row.epoch, row.history
            )
            for row in self.storage.list_blocks(asns=asns)
            if ":" not in row.block
        }
        held = self._not_up(asns)
        chosen: list[TargetRecord] = []
        retire: list[str] = []
        for asn in asns:
            mine = current.get(asn, set())
            selected = select_targets(
                asn,
                [r for r in ranges if r.asn == asn],
                histories,
                config,
                hand_imported=hand_imported,
                current=mine,
            )
            chosen.extend(discovered_target(t, now_unix_s) for t in selected)
            changes = target_changes(mine, selected, retire=asn not in held)
            retire.extend(target_id(address) for address in changes.retire)
        return self.storage.sync_discovered_targets(chosen, retire)

    def _not_up(self, asns: Sequence[int]) -> set[int]:
        """The ASes among `asns` whose latest verdict is not UP: their targets are not retired
        (collector/discovery/selection.py). No verdict yet: nothing to hold."""
        from vantage.collector.verdict.model import Status

        statuses = (int(Status.DEGRADED), int(Status.DOWN), int(Status.FILTERED), int(Status.UNKNOWN))
        wanted, after = set(asns), 0
        held: set[int] = set()
        while True:
            page = self.storage.latest_as_verdicts(statuses=statuses, after_asn=after, limit=1000)
            held.update(v.asn for v in page if v.asn in wanted)
            if len(page) < 1000:
                return held
            after = page[-1].asn

    def ipv6_targets(
        self, candidates: Sequence[Ipv6Candidate], now_unix_s: float
    ) -> tuple[TargetRecord, ...]:
        """The targets an IPv6 hitlist's addresses give (core select_ipv6_targets): a hand-imported
        target for the same address wins, and a removed one stays removed."""
        taken = {t.address for t in self.storage.list_targets() if t.source != DISCOVERY_SOURCE and t.address}
        taken |= self.storage.declined_targets()
        hand_imported = {int(ipaddress.IPv6Address(a)) for a in taken if ":" in a}
        selected = select_ipv6_targets(candidates, SelectionConfig(), hand_imported=hand_imported)
        return tuple(discovered_ipv6_target(t, now_unix_s) for t in selected)

    # ------------------------------------------------------------ coverage
    def coverage_rows(
        self, probes: Sequence[ProbeSlot], *, asn: int = 0, country: str = ""
    ) -> list[AsCoverage]:
        """The core's coverage row of every (AS, country) of the active campaigns (filtered)."""
        thresholds = CoverageThresholds()
        country = country.upper()
        spans = {
            (span.block, span.first_host): span
            for record in self.active_campaigns()
            for span in self.space(record).spans
            if (not asn or span.asn == asn) and (not country or span.country.upper() == country)
        }
        asns = sorted({span.asn for span in spans.values()})
        histories = {
            parse_block_cidr(row.block): history_of(row)
            for row in self.storage.list_blocks(asns=asns)
            if ":" not in row.block
        }
        summary = summarise_space(spans.values(), histories)
        targets: dict[int, int] = {}
        for target in self.storage.list_targets():
            targets[target.asn] = targets.get(target.asn, 0) + 1
        return [
            as_coverage(
                row_asn,
                where,
                address_space=s.address_space,
                blocks_known=s.blocks_known,
                blocks_responsive=s.blocks_responsive,
                targets_in_use=targets.get(row_asn, 0),
                probes=probes,
                thresholds=thresholds,
            )
            for (row_asn, where), s in sorted(summary.items())
        ]

    def not_analysable(self, probes: Sequence[ProbeSlot]) -> dict[int, tuple[str, str]]:
        """asn -> (country, reason) of the campaigns' ASes that are not analysable (an AS in
        several countries is judged by its largest share of address space)."""
        largest: dict[int, AsCoverage] = {}
        for row in self.coverage_rows(probes):
            if row.asn and (row.asn not in largest or row.address_space > largest[row.asn].address_space):
                largest[row.asn] = row
        return {asn: (row.country, row.reason) for asn, row in largest.items() if not row.analysable}

    # ------------------------------------------------------------ progress
    def progress(
        self,
        record: CampaignRecord,
        now_unix_s: float,
        policy: AddressPolicy,
        histories: Mapping[str, BlockHistoryRecord] | None = None,
    ) -> CampaignProgress:
        """Blocks done from results: a block whose every host the policy permits has had a
        census result (collector/discovery/census.py first_census_complete), not from the clock."""
        space = self.space(record)
        keys = [block_cidr(span.block) for span in space.spans]
        stored = self.storage.load_blocks(keys) if histories is None else histories
        config = self.bounds.config(record.census_period_s, record.refresh_s)
        responders = done = 0
        for key, span in zip(keys, space.spans, strict=True):
            row = stored.get(key)
            history = history_of(row) if row is not None else None
            if history is not None:
                responders += sum(span.first_host <= h <= span.last_host for h in history.responders())
            done += first_census_complete(span, history, record.created_at_unix_s, now_unix_s, config, policy)
        return campaign_progress(
            to_campaign(record),
            blocks_total=len(space.spans),
            blocks_done=done,
            responders=responders,
            census_period_s=record.census_period_s,
            now_unix_s=now_unix_s,
        )
