"""One round of discovery work: which probe sends an echo request to which address.

`plan_discovery_round` walks the blocks of the active campaigns, takes the census slots that
fall in the round (census.py), keeps those the address policy permits, and applies the bounds
in this order, each at one place here:

1. one owner per span: a span in several campaigns belongs to the earliest-started one (ties:
   lowest id), so overlapping campaigns never probe an address twice;
2. per block per round at most `block_allowance_per_round` tasks (the hourly per-/24 budget);
3. per campaign per round at most `campaign_rate_pps * round_seconds` tasks; when more are due,
   the known responders go first, then a pseudo-random order that changes every epoch, so
   the addresses left out differ from one census to the next;
4. each task goes to the highest-ranked eligible probe (rendezvous hashing on the block, as
   reachability work: assignment/rendezvous.py) that still has room under
   `probe_share_per_round`; eligible = can send ICMP, and outside the block's AS and country.
   A task no eligible probe can take is left out of the round.

Each address has at most one slot per round, and each task one probe, so no address is probed
by two probes in a round. Nothing here reads a clock or keeps state: the same campaigns,
histories, probes and round number give the same plan on every collector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.assignment.rendezvous import pair_weight, stable_hash64, top_members
from vantage.collector.discovery.campaigns import Campaign
from vantage.collector.discovery.census import (
    block_allowance_per_round,
    campaign_tasks_per_round,
    census_hosts,
    slots_in_round,
)
from vantage.collector.discovery.config import DiscoveryConfig
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.policy import AddressPolicy
from vantage.collector.discovery.space import BlockSpan, block_cidr, dotted

_RANK_DEPTH = 16  # rendezvous prefix computed per block; the full ranking only when it runs dry


@dataclass(frozen=True, slots=True)
class CampaignBlock:
    """A span of a campaign's address space, as the planner needs it."""

    campaign_id: str
    span: BlockSpan


@dataclass(frozen=True, slots=True)
class DiscoveryTask:
    """One ICMP echo request (count 1) to one address, for census `epoch` of `block`."""

    address: str  # dotted quad
    block: int  # network_int >> 8
    campaign_id: str
    epoch: int
    slot_unix_s: float  # when the schedule placed it (inside the round)


def plan_discovery_round(
    campaigns: Sequence[Campaign],
    blocks: Sequence[CampaignBlock],
    probes: Sequence[ProbeSlot],
    round_number: int,
    round_seconds: float,
    config: DiscoveryConfig,
    policy: AddressPolicy,
    histories: Mapping[int, BlockHistory] | None = None,
) -> dict[str, list[DiscoveryTask]]:
    """probe_id -> its discovery tasks for the round, each list in slot order.

    campaigns: all campaign rows (cancelled ones and blocks of unknown campaigns are skipped).
    blocks: the spans of the campaigns (space.split_into_blocks of each campaign's ranges).
    histories: block key -> history (absent = never censused); None = no history at all.
    Every probe of `probes` has a key in the result (maybe an empty list).
    """
    plan: dict[str, list[DiscoveryTask]] = {probe.probe_id: [] for probe in probes}
    active = {c.campaign_id: c for c in campaigns if not c.cancelled}
    if not active or not probes:
        return plan
    history_of = histories or {}
    owners = _owned_spans(blocks, active)
    window_start = round_number * round_seconds
    allowance = block_allowance_per_round(config, round_seconds)
    # Candidates per campaign: (priority, slot, epoch, address, block).
    due: dict[str, list[tuple[int, int, float, int, int]]] = {}
    per_block: dict[int, list[tuple[int, int, float, int, int, str]]] = {}
    for campaign_id, span in owners:
        campaign = active[campaign_id]
        first, last = span.address(span.first_host), span.address(span.last_host)
        if policy.permits_none(4, first, last):
            continue
        check_each = not policy.permits_all(4, first, last)
        slots = slots_in_round(span.block, round_number, round_seconds, config.census_period_s)
        if not slots:
            continue
        history = history_of.get(span.block)
        responders = set(history.responders()) if history is not None else set()
        wanted: dict[int, frozenset[int]] = {}
        for epoch, host, slot in slots:
            if not span.first_host <= host <= span.last_host or slot < campaign.started_unix_s:
                continue
            if slot < window_start:  # pragma: no cover - slots_in_round keeps the round's own
                continue
            hosts = wanted.get(epoch)
            if hosts is None:
                hosts = wanted[epoch] = census_hosts(
                    span, epoch, history, campaign.started_unix_s, config, round_seconds
                )
            address = span.address(host)
            if host not in hosts or (check_each and not policy.permits_int(4, address)):
                continue
            priority = 0 if host in responders else 1
            order = pair_weight(epoch, address)
            per_block.setdefault(span.block, []).append((priority, order, slot, epoch, address, campaign_id))
    for block_candidates in per_block.values():
        block_candidates.sort()
        for priority, order, slot, epoch, address, campaign_id in block_candidates[:allowance]:
            due.setdefault(campaign_id, []).append((priority, order, slot, epoch, address))
    cap = campaign_tasks_per_round(config, round_seconds)
    chosen: list[tuple[float, int, int, str]] = []  # (slot, address, epoch, campaign)
    for campaign_id in sorted(due):
        kept = sorted(due[campaign_id])[:cap]
        chosen.extend((slot, address, epoch, campaign_id) for _, _, slot, epoch, address in kept)
    _assign(chosen, owners_by_block(owners), probes, config, plan)
    for tasks in plan.values():
        tasks.sort(key=lambda task: (task.slot_unix_s, task.address))
    return plan


def owners_by_block(owners: Sequence[tuple[str, BlockSpan]]) -> dict[int, list[BlockSpan]]:
    """block key -> its owned spans."""
    spans: dict[int, list[BlockSpan]] = {}
    for _, span in owners:
        spans.setdefault(span.block, []).append(span)
    return spans


def eligible(probe: ProbeSlot, asn: int, country: str) -> bool:
    """May this probe census addresses of this AS and country? ICMP-capable and outside both."""
    return probe.icmp and (asn == 0 or probe.asn != asn) and (not country or probe.country != country)


def _owned_spans(
    blocks: Sequence[CampaignBlock], active: Mapping[str, Campaign]
) -> list[tuple[str, BlockSpan]]:
    owner: dict[tuple[int, int], tuple[tuple[float, str], BlockSpan]] = {}
    for item in blocks:
        campaign = active.get(item.campaign_id)
        if campaign is None:
            continue
        key = (item.span.block, item.span.first_host)
        rank = (campaign.started_unix_s, campaign.campaign_id)
        held = owner.get(key)
        if held is None or rank < held[0]:
            owner[key] = (rank, item.span)
    return [(rank[1], span) for _, (rank, span) in sorted(owner.items())]


def _span_of(spans: Sequence[BlockSpan], host: int) -> BlockSpan:
    for span in spans:
        if span.first_host <= host <= span.last_host:
            return span
    raise AssertionError(f"host {host} is in no span of its block")  # pragma: no cover


def _assign(
    chosen: list[tuple[float, int, int, str]],
    spans_of_block: Mapping[int, Sequence[BlockSpan]],
    probes: Sequence[ProbeSlot],
    config: DiscoveryConfig,
    plan: dict[str, list[DiscoveryTask]],
) -> None:
    member_hashes = [stable_hash64(probe.probe_id) for probe in probes]
    blocks = sorted({address >> 8 for _, address, _, _ in chosen})
    key_hashes = [stable_hash64(f"discovery:{block_cidr(block)}") for block in blocks]
    prefixes = dict(zip(blocks, top_members(key_hashes, member_hashes, _RANK_DEPTH), strict=True))
    full_rankings: dict[int, list[int]] = {}
    load = [0] * len(probes)
    share = config.probe_share_per_round
    for slot, address, epoch, campaign_id in sorted(chosen, key=lambda item: (item[0], item[1])):
        block = address >> 8
        span = _span_of(spans_of_block[block], address & 255)
        index = _first_with_room(prefixes[block], probes, load, share, span)
        if index is None and len(prefixes[block]) < len(probes):
            ranking = full_rankings.get(block)
            if ranking is None:
                key = stable_hash64(f"discovery:{block_cidr(block)}")
                ranking = full_rankings[block] = top_members([key], member_hashes, len(probes))[0]
            index = _first_with_room(ranking, probes, load, share, span)
        if index is None:
            continue
        load[index] += 1
        plan[probes[index].probe_id].append(DiscoveryTask(dotted(address), block, campaign_id, epoch, slot))


def _first_with_room(
    ranking: Sequence[int], probes: Sequence[ProbeSlot], load: list[int], share: int, span: BlockSpan
) -> int | None:
    for index in ranking:
        if load[index] < share and eligible(probes[index], span.asn, span.country):
            return index
    return None
