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

Bounds 1-3 are applied span by span (`_choose`, the reference) for small campaigns, and by a
vectorised chooser with the same result for large ones (`_choose_vectorised`: the slot search
over all spans at once, then candidates judged in bound order only until the caps are met; a
census of millions of blocks has ~one slot per block per round but a cap of 30,000 tasks).

Each address has at most one slot per round, and each task one probe, so no address is probed
by two probes in a round. Nothing here reads a clock or keeps state: the same campaigns,
histories, probes and round number give the same plan on every collector.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any

from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.assignment.rendezvous import _MIX1, _MIX2, pair_weight, stable_hash64, top_members
from vantage.collector.discovery.campaigns import Campaign
from vantage.collector.discovery.census import (
    _FRACTION_BITS,
    _LAYOUT_SALT,
    RoundWindow,
    block_allowance_per_round,
    campaign_tasks_per_round,
    census_rule,
)
from vantage.collector.discovery.config import DiscoveryConfig
from vantage.collector.discovery.history import BlockHistory
from vantage.collector.discovery.policy import AddressPolicy
from vantage.collector.discovery.space import BlockSpan, block_cidr, dotted

try:  # optional, as in assignment/rendezvous.py: without it every campaign takes _choose
    import numpy
except ImportError:  # pragma: no cover - numpy is a dependency of the collector
    numpy = None  # type: ignore[assignment]

# From this many spans on, the vectorised chooser (the same plan as _choose, built faster).
VECTORISED_FROM_SPANS = 2048
_RANK_DEPTH = 16  # rendezvous prefix computed per block; the full ranking only when it runs dry
# A task being planned: (0 if a known responder else 1, slot_unix_s, epoch, address, campaign_id, span)
_Candidate = tuple[int, float, int, int, str, BlockSpan]


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
    choose = _choose_vectorised if numpy is not None and len(owners) >= VECTORISED_FROM_SPANS else _choose
    chosen = choose(owners, active, round_number, round_seconds, config, policy, history_of)
    _assign(chosen, probes, config, plan)
    for tasks in plan.values():
        tasks.sort(key=lambda task: (task.slot_unix_s, task.address))
    return plan


def _choose(
    owners: Sequence[tuple[str, BlockSpan]],
    active: Mapping[str, Campaign],
    round_number: int,
    round_seconds: float,
    config: DiscoveryConfig,
    policy: AddressPolicy,
    history_of: Mapping[int, BlockHistory],
) -> list[_Candidate]:
    """Bounds 1-3 of the module docstring, span by span: the reference the vectorised chooser
    must agree with (tests compare them), and the planner of small campaigns."""
    window = RoundWindow.of(round_number, round_seconds, config.census_period_s)
    allowance = block_allowance_per_round(config, round_seconds)
    # The per-epoch order key of a candidate is computed only where a bound has to choose.
    due: dict[str, list[_Candidate]] = {}
    of_block: list[_Candidate] = []
    current_block = -1
    for campaign_id, span in owners:
        if span.block != current_block:
            _take(of_block, allowance, due)
            of_block, current_block = [], span.block
        slots = window.slots(span.block)
        if not slots:
            continue
        first_host, last_host = span.first_host, span.last_host
        started = active[campaign_id].started_unix_s
        in_span = [
            (epoch, host, slot)
            for epoch, host, slot in slots
            if first_host <= host <= last_host and slot >= started
        ]
        if not in_span:
            continue
        block_address = span.block << 8
        if policy.permits_none(4, block_address | first_host, block_address | last_host):
            continue
        check_each = not policy.permits_all(4, block_address | first_host, block_address | last_host)
        history = history_of.get(span.block)
        responders = history.responders() if history is not None else ()
        rules: dict[int, frozenset[int] | None] = {}
        for epoch, host, slot in in_span:
            if epoch not in rules:
                rules[epoch] = census_rule(span, epoch, history, started, config, round_seconds)
            rule = rules[epoch]
            address = block_address | host
            if (rule is not None and host not in rule) or (check_each and not policy.permits_int(4, address)):
                continue
            of_block.append((0 if host in responders else 1, slot, epoch, address, campaign_id, span))
    _take(of_block, allowance, due)
    cap = campaign_tasks_per_round(config, round_seconds)
    chosen: list[_Candidate] = []
    for campaign_id in sorted(due):
        kept = due[campaign_id]
        chosen.extend(sorted(kept, key=_bound_order)[:cap] if len(kept) > cap else kept)
    return chosen


def _splitmix(z: Any) -> Any:
    """assignment/rendezvous.pair_weight over uint64 arrays (their XOR already taken): uint64
    arithmetic wraps modulo 2**64 exactly like its `& _MASK64`."""
    z = (z ^ (z >> numpy.uint64(30))) * numpy.uint64(_MIX1)
    z = (z ^ (z >> numpy.uint64(27))) * numpy.uint64(_MIX2)
    return z ^ (z >> numpy.uint64(31))


def _choose_vectorised(
    owners: Sequence[tuple[str, BlockSpan]],
    active: Mapping[str, Campaign],
    round_number: int,
    round_seconds: float,
    config: DiscoveryConfig,
    policy: AddressPolicy,
    history_of: Mapping[int, BlockHistory],
) -> list[_Candidate]:
    """What _choose returns, for large campaigns: the slot search over all spans at once (numpy,
    the same float operations in the same order, so the same slots to the bit), then the
    candidates in bound order (responders first, then pair_weight(epoch, address)), judged one by
    one (policy, census rule, per-block allowance, campaign cap) only until every campaign's cap
    is met. A candidate survives the per-block allowance iff fewer than `allowance` due
    candidates of its block come before it in that order, and a campaign keeps its first `cap`
    survivors: the sets _take and the cap choose."""
    window = RoundWindow.of(round_number, round_seconds, config.census_period_s)
    allowance = block_allowance_per_round(config, round_seconds)
    cap = campaign_tasks_per_round(config, round_seconds)
    count = len(owners)
    campaign_ids = sorted({campaign_id for campaign_id, _ in owners})
    campaign_index = {campaign_id: i for i, campaign_id in enumerate(campaign_ids)}
    spans_only = list(map(itemgetter(1), owners))
    blocks = numpy.fromiter(map(attrgetter("block"), spans_only), numpy.uint64, count)
    firsts = numpy.fromiter(map(attrgetter("first_host"), spans_only), numpy.int64, count)
    lasts = numpy.fromiter(map(attrgetter("last_host"), spans_only), numpy.int64, count)
    del spans_only
    if len(campaign_ids) == 1:
        started = numpy.full(count, active[campaign_ids[0]].started_unix_s)
    else:
        starts = numpy.array([active[c].started_unix_s for c in campaign_ids])
        started = starts[numpy.fromiter((campaign_index[c] for c, _ in owners), numpy.int64, count)]
    mixed = _splitmix(blocks ^ numpy.uint64(_LAYOUT_SALT))  # census.block_layout, per block
    multiplier = ((mixed & numpy.uint64(0x7F)) << numpy.uint64(1) | numpy.uint64(1)).astype(numpy.int64)
    offset = ((mixed >> numpy.uint64(8)) & numpy.uint64(0xFF)).astype(numpy.int64)
    fraction = ((mixed >> numpy.uint64(16)) % numpy.uint64(_FRACTION_BITS)).astype(numpy.float64)
    fraction /= _FRACTION_BITS
    found: list[tuple[Any, ...]] = []
    for epoch, base, low_position, high_position in window.epochs:
        low = numpy.maximum(0, numpy.floor(low_position - fraction)).astype(numpy.int64)
        high = numpy.minimum(255, numpy.ceil(high_position - fraction)).astype(numpy.int64)
        for step in range(int((high - low).max(initial=-1)) + 1):
            position = low + step
            slot = base + (position + fraction) * window.spacing
            host = (multiplier * position + offset) & 255
            ok = (
                (position <= high)
                & (numpy.floor(slot / round_seconds) == round_number)
                & (firsts <= host)
                & (host <= lasts)
                & (slot >= started)
            )
            where = numpy.nonzero(ok)[0]
            if len(where):
                found.append((where, numpy.full(len(where), epoch, numpy.int64), host[where], slot[where]))
    if not found:
        return []
    span_at = numpy.concatenate([f[0] for f in found])
    epochs = numpy.concatenate([f[1] for f in found])
    hosts = numpy.concatenate([f[2] for f in found])
    slots = numpy.concatenate([f[3] for f in found])
    addresses = (blocks[span_at] << numpy.uint64(8)) | hosts.astype(numpy.uint64)
    keys = _splitmix(epochs.astype(numpy.uint64) ^ addresses)  # pair_weight(epoch, address)
    responder = numpy.ones(len(addresses), numpy.int64)
    if history_of:
        known = [(block << 8) | host for block, h in history_of.items() for host in h.responders()]
        if known:
            responder[numpy.isin(addresses, numpy.array(known, numpy.uint64))] = 0
    order = numpy.lexsort((keys, responder))
    taken = [0] * len(campaign_ids)
    open_campaigns = len(campaign_ids)
    per_block: dict[int, int] = {}
    spans: dict[int, tuple[BlockSpan, bool, BlockHistory | None]] = {}
    refused_spans: set[int] = set()
    rules: dict[tuple[int, int], frozenset[int] | None] = {}
    chosen: list[_Candidate] = []
    for i in _in_chunks(order):
        index = int(span_at[i])
        if index in refused_spans:
            continue
        campaign_id, span = owners[index]
        held = spans.get(index)
        if held is None:
            block_address = span.block << 8
            first, last = block_address | span.first_host, block_address | span.last_host
            if policy.permits_none(4, first, last):
                refused_spans.add(index)
                continue
            held = spans[index] = (span, not policy.permits_all(4, first, last), history_of.get(span.block))
        _, check_each, history = held
        epoch, host = int(epochs[i]), int(hosts[i])
        rule_key = (index, epoch)
        if rule_key not in rules:
            started_unix_s = active[campaign_id].started_unix_s
            rules[rule_key] = census_rule(span, epoch, history, started_unix_s, config, round_seconds)
        rule = rules[rule_key]
        address = int(addresses[i])
        if (rule is not None and host not in rule) or (check_each and not policy.permits_int(4, address)):
            continue
        seen = per_block.get(span.block, 0)
        per_block[span.block] = seen + 1
        if seen >= allowance:
            continue
        c = campaign_index[campaign_id]
        if taken[c] >= cap:
            continue
        taken[c] += 1
        chosen.append((int(responder[i]), float(slots[i]), epoch, address, campaign_id, span))
        if taken[c] == cap:
            open_campaigns -= 1
            if not open_campaigns:
                break
    return chosen


def _in_chunks(order: Any) -> Iterator[int]:
    """The indices of a numpy array as ints, converted a chunk at a time: the caller usually
    stops after the first few thousand of millions."""
    for start in range(0, len(order), 65_536):
        yield from order[start : start + 65_536].tolist()


def _bound_order(candidate: _Candidate) -> tuple[int, int]:
    """Which candidates a bound keeps: responders first, then an order that changes every epoch."""
    responder, _, epoch, address, _, _ = candidate
    return responder, pair_weight(epoch, address)


def _take(
    candidates: list[_Candidate],
    allowance: int,
    due: dict[str, list[_Candidate]],
) -> None:
    """One block's candidates into `due`, at most `allowance` of them (the per-block budget)."""
    if len(candidates) > allowance:
        candidates = sorted(candidates, key=_bound_order)[:allowance]
    for candidate in candidates:
        due.setdefault(candidate[4], []).append(candidate)


def eligible(probe: ProbeSlot, asn: int, country: str) -> bool:
    """May this probe census addresses of this AS and country? ICMP-capable and outside both."""
    return probe.icmp and (asn == 0 or probe.asn != asn) and (not country or probe.country != country)


def _owned_spans(
    blocks: Sequence[CampaignBlock], active: Mapping[str, Campaign]
) -> list[tuple[str, BlockSpan]]:
    """(campaign_id, span) for the spans of active campaigns, one owner each, in block order."""
    campaign_ids = {item.campaign_id for item in blocks}
    if len(campaign_ids) == 1:  # one campaign (the usual case): its spans are disjoint already
        (only,) = campaign_ids
        if only not in active:
            return []
        owned = [(only, item.span) for item in blocks]
        keys = [span.block for _, span in owned]
        if not all(map(int.__le__, keys[:-1], keys[1:])):
            owned.sort(key=lambda pair: (pair[1].block, pair[1].first_host))
        return owned
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


def _assign(
    chosen: list[_Candidate],
    probes: Sequence[ProbeSlot],
    config: DiscoveryConfig,
    plan: dict[str, list[DiscoveryTask]],
) -> None:
    member_hashes = [stable_hash64(probe.probe_id) for probe in probes]
    blocks = sorted({candidate[3] >> 8 for candidate in chosen})
    key_hashes = [stable_hash64(f"discovery:{block_cidr(block)}") for block in blocks]
    prefixes = dict(zip(blocks, top_members(key_hashes, member_hashes, _RANK_DEPTH), strict=True))
    full_rankings: dict[int, list[int]] = {}
    load = [0] * len(probes)
    share = config.probe_share_per_round
    for _, slot, epoch, address, campaign_id, span in sorted(chosen, key=lambda item: (item[1], item[3])):
        block = address >> 8
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
