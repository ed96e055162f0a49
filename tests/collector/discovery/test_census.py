"""The census schedule and round planning, simulated over days: every bound checked on every round."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from vantage.collector.asn.database import Ipv4Range
from vantage.collector.asn.ipnum import parse_ipv4
from vantage.collector.assignment.model import ProbeSlot
from vantage.collector.discovery.campaigns import Campaign, campaign_progress
from vantage.collector.discovery.census import (
    FIRST_CENSUS_EPOCHS,
    block_allowance_per_round,
    campaign_tasks_per_round,
    census_hosts,
    check_round_fits,
    epoch_of,
    first_census_complete,
    in_rotating_sample,
    slot_unix_s,
    slots_in_round,
)
from vantage.collector.discovery.config import DiscoveryConfig
from vantage.collector.discovery.history import BlockHistory, apply_results
from vantage.collector.discovery.plan import CampaignBlock, DiscoveryTask, plan_discovery_round
from vantage.collector.discovery.policy import AddressPolicy, parse_allow_ranges, parse_exclusions
from vantage.collector.discovery.space import BlockSpan, split_into_blocks

DAY_S = 86_400.0
KZ_AS, RU_AS = 64500, 64501


def ip(text: str) -> int:
    return parse_ipv4(text)


# Ordinary-looking space (only numbers here: nothing is sent anywhere), with a range edge inside
# a /24 (two ASes share 11.0.2.0/24) and a range smaller than a /24.
RANGES = [
    Ipv4Range(ip("11.0.0.0"), ip("11.0.2.127"), KZ_AS, "KZ"),
    Ipv4Range(ip("11.0.2.128"), ip("11.0.3.255"), RU_AS, "RU"),
    Ipv4Range(ip("11.9.9.16"), ip("11.9.9.47"), KZ_AS, "KZ"),
]
PROBES = [
    ProbeSlot("inside-as", KZ_AS, "DE", True, False),  # inside the AS: never a KZ_AS block
    ProbeSlot("inside-country", 64510, "KZ", True, False),  # inside the country: never a KZ block
    ProbeSlot("no-icmp", 64511, "DE", False, False),
    *(ProbeSlot(f"out-{i}", 64520 + i % 3, "DE" if i % 2 else "NL", True, False) for i in range(5)),
]


@dataclass
class Simulation:
    """Plans rounds one after another and feeds the results back, as the collector does."""

    campaigns: list[Campaign]
    blocks: list[CampaignBlock]
    config: DiscoveryConfig
    round_seconds: float
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    probes: Sequence[ProbeSlot] = tuple(PROBES)
    responsive: frozenset[int] = frozenset()
    histories: dict[int, BlockHistory] = field(default_factory=dict)
    rounds: dict[int, dict[str, list[DiscoveryTask]]] = field(default_factory=dict)
    lost: Callable[[int, DiscoveryTask], bool] = lambda round_number, task: False  # no result came

    def run(self, first_round: int, last_round: int) -> None:
        for round_number in range(first_round, last_round + 1):
            plan = plan_discovery_round(
                self.campaigns,
                self.blocks,
                self.probes,
                round_number,
                self.round_seconds,
                self.config,
                self.policy,
                self.histories,
            )
            self.rounds[round_number] = plan
            self.feed(plan, round_number)

    def feed(self, plan: dict[str, list[DiscoveryTask]], round_number: int = 0) -> None:
        by_block: dict[tuple[int, int], set[int]] = defaultdict(set)
        for tasks in plan.values():
            for task in tasks:
                if not self.lost(round_number, task):
                    by_block[(task.block, task.epoch)].add(ip(task.address))
        for (block, epoch), probed in sorted(by_block.items()):
            history = self.histories.get(block) or BlockHistory.empty(block, epoch)
            self.histories[block] = apply_results(history, epoch, probed & self.responsive, probed)

    def tasks(self) -> list[tuple[int, str, DiscoveryTask]]:
        return [
            (r, probe, task)
            for r, plan in self.rounds.items()
            for probe, tasks in plan.items()
            for task in tasks
        ]


def campaign_blocks(campaign_id: str, ranges: Sequence[Ipv4Range] = RANGES) -> list[CampaignBlock]:
    return [CampaignBlock(campaign_id, span) for span in split_into_blocks(ranges)]


def all_addresses(ranges: Sequence[Ipv4Range] = RANGES) -> set[int]:
    return {address for r in ranges for address in range(r.first, r.last + 1)}


def test_every_address_exactly_once_per_epoch_over_a_day() -> None:
    config = DiscoveryConfig(refresh_period_s=DAY_S)  # a full census every day
    sim = Simulation([Campaign("c1", countries=("KZ", "RU"))], campaign_blocks("c1"), config, 300.0)
    sim.run(0, 2 * 288 - 1)  # two whole days of 5-minute rounds
    per_epoch = Counter((task.epoch, ip(task.address)) for _, _, task in sim.tasks())
    for epoch in (0, 1):
        counts = {address: per_epoch[(epoch, address)] for address in all_addresses()}
        assert set(counts.values()) == {1}, f"epoch {epoch}: some address probed {max(counts.values())} times"
    assert {e for e, _ in per_epoch} == {0, 1}
    # ... each exactly one census period after the previous one (the layout does not move).
    seen: dict[int, list[float]] = defaultdict(list)
    for _, _, task in sim.tasks():
        seen[ip(task.address)].append(task.slot_unix_s)
    assert all(len(times) == 2 and math.isclose(times[1] - times[0], DAY_S) for times in seen.values())


@pytest.mark.parametrize(
    ("round_seconds", "budget", "rate_pps", "share", "period_s"),
    [
        (300.0, 15, 100.0, 300, DAY_S),  # defaults
        (660.0, 15, 100.0, 300, DAY_S),  # Trinocular's 11-minute rounds
        (300.0, 15, 0.02, 300, DAY_S),  # a rate cap that binds: 6 tasks a round
        (300.0, 12, 100.0, 2, DAY_S),  # a per-probe share that binds
        (300.0, 15, 100.0, 300, 7200.0),  # a census period too short: the block budget binds
    ],
)
def test_budgets_and_caps_hold_on_every_round_of_a_day(
    round_seconds: float, budget: int, rate_pps: float, share: int, period_s: float
) -> None:
    config = DiscoveryConfig(
        census_period_s=period_s,
        refresh_period_s=max(period_s, 7200.0),
        block_budget_per_hour=budget,
        campaign_rate_pps=rate_pps,
        probe_share_per_round=share,
    )
    many = [Ipv4Range(ip("11.1.0.0"), ip("11.1.15.255"), KZ_AS, "KZ"), *RANGES]
    responsive = frozenset(a for a in all_addresses(many) if random.Random(a).random() < 0.2)
    sim = Simulation(
        [Campaign("a", asns=(KZ_AS,)), Campaign("b", countries=("KZ", "RU"), started_unix_s=5.0)],
        campaign_blocks("a", many) + campaign_blocks("b", many),
        config,
        round_seconds,
        responsive=responsive,
    )
    rounds = math.ceil(DAY_S / round_seconds)
    sim.run(0, rounds - 1)
    cap = campaign_tasks_per_round(config, round_seconds)
    per_hour = math.ceil(3600 / round_seconds)
    per_block_round: Counter[tuple[int, int]] = Counter()
    for round_number, plan in sim.rounds.items():
        addresses = [task.address for tasks in plan.values() for task in tasks]
        assert len(addresses) == len(set(addresses)), f"round {round_number}: an address from two probes"
        per_campaign = Counter(task.campaign_id for tasks in plan.values() for task in tasks)
        assert max(per_campaign.values(), default=0) <= cap
        assert max((len(tasks) for tasks in plan.values()), default=0) <= share
        for tasks in plan.values():
            for task in tasks:
                per_block_round[(task.block, round_number)] += 1
                assert round_number * round_seconds <= task.slot_unix_s < (round_number + 1) * round_seconds
    blocks = {block for block, _ in per_block_round}
    for block in blocks:  # any hour of round starts
        for start in range(rounds):
            window = sum(per_block_round[(block, r)] for r in range(start, start + per_hour))
            assert window <= budget, f"block {block}: {window} probes in an hour from round {start}"
    # At most once per census, even where campaigns overlap.
    per_epoch = Counter((task.epoch, task.address) for _, _, task in sim.tasks())
    assert max(per_epoch.values()) == 1


def test_eligible_probes_are_outside_the_as_and_the_country() -> None:
    sim = Simulation(
        [Campaign("c1", countries=("KZ", "RU"))], campaign_blocks("c1"), DiscoveryConfig(), 300.0
    )
    sim.run(0, 287)
    probes = {p.probe_id: p for p in PROBES}
    used = Counter(probe_id for _, probe_id, _ in sim.tasks())
    assert used["no-icmp"] == 0
    for _, probe_id, task in sim.tasks():
        host = ip(task.address) & 255
        span = next(
            s
            for s in split_into_blocks(RANGES)
            if s.block == task.block and s.first_host <= host <= s.last_host
        )
        assert probes[probe_id].asn != span.asn and probes[probe_id].country != span.country, (probe_id, span)
    # Work is spread over several probes by the rendezvous ranking.
    assert sum(1 for probe_id in used if probe_id.startswith("out-")) >= 3


def test_no_eligible_probe_no_task() -> None:
    probes = [ProbeSlot("kz", 64999, "KZ", True, False), ProbeSlot("as", KZ_AS, "DE", True, False)]
    blocks = campaign_blocks("c1", RANGES[:1])
    plans = [
        plan_discovery_round(
            [Campaign("c1", asns=(KZ_AS,))], blocks, probes, r, 300.0, DiscoveryConfig(), AddressPolicy()
        )
        for r in range(50)
    ]
    assert all(tasks == [] for plan in plans for tasks in plan.values())


def test_same_inputs_same_plan_whatever_the_probe_order() -> None:
    args = ([Campaign("c1", countries=("KZ",))], campaign_blocks("c1"))
    one = plan_discovery_round(*args, PROBES, 77, 300.0, DiscoveryConfig(), AddressPolicy())
    two = plan_discovery_round(*args, list(reversed(PROBES)), 77, 300.0, DiscoveryConfig(), AddressPolicy())
    assert one == two and sum(len(t) for t in one.values()) > 0


def test_a_restart_mid_census_resumes_where_it_was() -> None:
    responsive = frozenset(a for a in all_addresses() if random.Random(a).random() < 0.3)
    config = DiscoveryConfig(
        census_period_s=3600.0, refresh_period_s=4 * 3600.0, block_budget_per_hour=10_000
    )

    def fresh() -> Simulation:
        return Simulation(
            [Campaign("c1", countries=("KZ", "RU"), started_unix_s=1000.0)],
            campaign_blocks("c1"),
            config,
            60.0,
            responsive=responsive,
        )

    continuous = fresh()
    continuous.run(0, 200)
    restarted = fresh()
    restarted.run(0, 90)
    # The restart: nothing survives but campaign rows and block histories (through their blobs).
    stored = {block: (h.epoch, h.to_blob()) for block, h in restarted.histories.items()}
    resumed = fresh()
    resumed.histories = {
        block: BlockHistory.from_blob(block, epoch, blob) for block, (epoch, blob) in stored.items()
    }
    resumed.run(91, 200)
    assert {r: continuous.rounds[r] for r in range(91, 201)} == resumed.rounds
    assert continuous.histories == resumed.histories


def test_full_census_first_then_responders_and_a_rotating_sample_then_refresh() -> None:
    config = DiscoveryConfig(
        census_period_s=3600.0, refresh_period_s=4 * 3600.0, block_budget_per_hour=10_000
    )
    responsive = frozenset(a for a in all_addresses() if random.Random(a).random() < 0.1)
    sim = Simulation(
        [Campaign("c1", countries=("KZ", "RU"))], campaign_blocks("c1"), config, 60.0, responsive=responsive
    )
    sim.run(0, 5 * 60 - 1)  # five censuses of an hour
    probed_in: dict[int, set[int]] = defaultdict(set)
    for _, _, task in sim.tasks():
        probed_in[task.epoch].add(ip(task.address))
    everything = all_addresses()
    assert probed_in[0] == everything  # the first census: all
    for epoch in (1, 2, 3):
        assert responsive <= probed_in[epoch] < everything  # responders always, not everything
        sample = {a for a in everything if in_rotating_sample(a >> 8, a & 255, epoch, config.rotating_sample)}
        assert probed_in[epoch] == responsive | sample
    assert probed_in[4] == everything  # the weekly (here: 4-hourly) refresh is a full census
    assert len(probed_in[1] - responsive) <= config.rotating_sample * len({a >> 8 for a in everything})


def test_rotating_sample_covers_every_host_in_256_over_sample_censuses() -> None:
    for sample in (1, 16, 100):
        epochs = math.ceil(256 / sample)
        for host in range(256):
            hits = sum(in_rotating_sample(12345, host, epoch, sample) for epoch in range(epochs))
            assert hits >= 1


def test_first_census_completes_one_period_after_a_mid_epoch_start() -> None:
    started = 3 * 3600.0 + 1234.5
    config = DiscoveryConfig(
        census_period_s=3600.0, refresh_period_s=7 * 3600.0, block_budget_per_hour=10_000
    )
    sim = Simulation(
        [Campaign("c1", countries=("KZ", "RU"), started_unix_s=started)], campaign_blocks("c1"), config, 60.0
    )
    sim.run(0, 6 * 60)
    first = [task for _, _, task in sim.tasks() if task.slot_unix_s < started + 3600.0]
    assert all(task.slot_unix_s >= started for _, _, task in sim.tasks())
    assert Counter(ip(t.address) for t in first) == dict.fromkeys(all_addresses(), 1)
    progress = campaign_progress(
        sim.campaigns[0],
        blocks_total=10,
        blocks_done=4,
        responders=0,
        census_period_s=3600.0,
        now_unix_s=started + 600,
    )
    assert progress.first_census_end_unix_s == started + 3600.0 and progress.eta_s == 3000.0
    assert progress.fraction_done == 0.4


def test_policy_applies_to_every_task() -> None:
    special = [
        Ipv4Range(ip("198.18.0.0"), ip("198.18.1.255"), KZ_AS, "KZ"),
        Ipv4Range(ip("11.5.5.0"), ip("11.5.5.255"), KZ_AS, "KZ"),
    ]
    config = DiscoveryConfig(census_period_s=3600.0, block_budget_per_hour=10_000)
    refused = Simulation(
        [Campaign("c1", asns=(KZ_AS,))],
        campaign_blocks("c1", special),
        config,
        60.0,
        policy=AddressPolicy(parse_exclusions("11.5.5.128/25\n", "x")),
    )
    refused.run(0, 59)
    probed = {ip(task.address) for _, _, task in refused.tasks()}
    assert probed == set(range(ip("11.5.5.0"), ip("11.5.5.127") + 1))  # lab space and the exclusion: none
    opened = Simulation(
        [Campaign("c1", asns=(KZ_AS,))],
        campaign_blocks("c1", special),
        config,
        60.0,
        policy=AddressPolicy(allowed=parse_allow_ranges(["198.18.0.0/15"])),
    )
    opened.run(0, 59)
    assert {ip(task.address) for _, _, task in opened.tasks()} == all_addresses(special)


def test_cancelled_campaigns_plan_nothing() -> None:
    plan = plan_discovery_round(
        [Campaign("c1", countries=("KZ",), cancelled=True)],
        campaign_blocks("c1"),
        PROBES,
        5,
        300.0,
        DiscoveryConfig(),
        AddressPolicy(),
    )
    assert set(plan) == {p.probe_id for p in PROBES} and not any(plan.values())


def test_slot_layout_is_a_bijection_and_rounds_partition_slots() -> None:
    block = ip("11.0.0.0") >> 8
    slots = {slot_unix_s(block, host, 0, 3600.0, 60.0) for host in range(256)}
    assert len(slots) == 256 and all(0 <= s < 3600.0 - 60.0 for s in slots)
    found = [
        host for r in range(60) for epoch, host, _ in slots_in_round(block, r, 60.0, 3600.0) if epoch == 0
    ]
    assert sorted(found) == list(range(256))
    assert epoch_of(3599.9, 3600.0) == 0 and epoch_of(3600.0, 3600.0) == 1


def test_census_hosts_of_a_span_smaller_than_a_block() -> None:
    span = BlockSpan(ip("11.9.9.0") >> 8, 16, 47, KZ_AS, "KZ")
    assert census_hosts(span, 0, None, 0.0, DiscoveryConfig(), 300.0) == frozenset(range(16, 48))
    assert census_hosts(span, 0, None, DAY_S, DiscoveryConfig(), 300.0) == frozenset()  # before the start


@pytest.mark.parametrize(
    ("round_seconds", "budget", "allowance"),
    [(300.0, 15, 1), (660.0, 15, 2), (3600.0, 15, 15), (7200.0, 15, 15), (300.0, 11, 0), (5.0, 20_000, 27)],
)
def test_block_allowance_per_round(round_seconds: float, budget: int, allowance: int) -> None:
    assert (
        block_allowance_per_round(DiscoveryConfig(block_budget_per_hour=budget), round_seconds) == allowance
    )


def test_check_round_fits_names_the_numbers() -> None:
    check_round_fits(DiscoveryConfig(), 300.0)
    check_round_fits(DiscoveryConfig(), 660.0)
    with pytest.raises(ValueError, match=r"needs up to 24 probes per 5 s round.*allows 0 per round"):
        check_round_fits(DiscoveryConfig(census_period_s=60.0, refresh_period_s=600.0), 5.0)
    check_round_fits(
        DiscoveryConfig(census_period_s=60.0, refresh_period_s=600.0, block_budget_per_hour=24 * 720), 5.0
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"census_period_s": 0.0},
        {"refresh_period_s": 10.0},
        {"block_budget_per_hour": 0},
        {"campaign_rate_pps": 0.0},
        {"probe_share_per_round": 0},
        {"rotating_sample": 257},
    ],
)
def test_config_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="DiscoveryConfig"):
        DiscoveryConfig(**kwargs)  # type: ignore[arg-type]


def test_campaign_needs_a_scope() -> None:
    with pytest.raises(ValueError, match="no AS and no country"):
        Campaign("c1")


FIRST_CENSUS = DiscoveryConfig(
    census_period_s=3600.0, refresh_period_s=8 * 3600.0, block_budget_per_hour=10_000, rotating_sample=0
)


def _first_census_done(sim: Simulation, now_unix_s: float, policy: AddressPolicy | None = None) -> list[bool]:
    campaign = sim.campaigns[0]
    return [
        first_census_complete(
            b.span, sim.histories.get(b.span.block), campaign.started_unix_s, now_unix_s, sim.config,
            policy or sim.policy,
        )
        for b in sim.blocks
    ]  # fmt: skip


def test_the_first_census_asks_again_the_slots_of_the_round_the_campaign_was_created_in() -> None:
    # Created 10 s into round 60 (of 60 s): that round's work was handed out before the campaign
    # existed, so planning starts with round 61 and the slots of 3610..3660 s are never planned
    # in the start epoch. The next census asks them (only the addresses still without a result).
    started = 3600.0 + 10.0
    sim = Simulation([Campaign("c1", countries=("KZ", "RU"), started_unix_s=started)], campaign_blocks("c1"),
                     FIRST_CENSUS, 60.0)  # fmt: skip
    sim.run(61, 3 * 60 - 1)
    probed = Counter(ip(task.address) for _, _, task in sim.tasks())
    assert set(probed) == all_addresses()
    assert max(probed.values()) == 1  # nothing already censused is asked twice (no rotating sample)
    # Asked again: those slotted before the start and those of the creation round.
    lost = {a for a in all_addresses() if slot_unix_s(a >> 8, a & 255, 1, 3600.0, 60.0) < 3660.0}
    in_creation_round = {a for a in lost if slot_unix_s(a >> 8, a & 255, 1, 3600.0, 60.0) >= started}
    assert in_creation_round and {ip(t.address) for _, _, t in sim.tasks() if t.epoch == 2} == lost
    assert all(_first_census_done(sim, 3 * 3600.0))


def test_slots_without_results_are_asked_again_and_blocks_done_follow_results() -> None:
    # Round 70's results never come back (the probe skipped it): its blocks are not done at the
    # end of the first period, their hosts are asked again in the next census, then they are.
    started = 3600.0
    sim = Simulation([Campaign("c1", countries=("KZ", "RU"), started_unix_s=started)], campaign_blocks("c1"),
                     FIRST_CENSUS, 60.0, lost=lambda r, task: r == 70)  # fmt: skip
    sim.run(60, 2 * 60 - 1)
    skipped = {ip(t.address) for tasks in sim.rounds[70].values() for t in tasks}
    assert skipped
    done = _first_census_done(sim, 2 * 3600.0)
    assert not all(done)
    assert {b.span.block for b, ok in zip(sim.blocks, done, strict=True) if not ok} == {
        a >> 8 for a in skipped
    }
    sim.run(2 * 60, 3 * 60 - 1)
    assert {ip(t.address) for _, _, t in sim.tasks() if t.epoch == 2} == skipped
    assert all(_first_census_done(sim, 3 * 3600.0))


def test_an_address_that_never_gets_a_result_is_asked_a_bounded_number_of_times() -> None:
    never = ip("11.0.0.77")
    sim = Simulation([Campaign("c1", countries=("KZ", "RU"), started_unix_s=0.0)], campaign_blocks("c1"),
                     FIRST_CENSUS, 60.0, lost=lambda r, task: ip(task.address) == never)  # fmt: skip
    sim.run(0, 6 * 60 - 1)
    asked = [t.epoch for _, _, t in sim.tasks() if ip(t.address) == never]
    assert asked == list(range(FIRST_CENSUS_EPOCHS))
    assert not _first_census_done(sim, FIRST_CENSUS_EPOCHS * 3600.0 - 1)[0]
    assert all(_first_census_done(sim, FIRST_CENSUS_EPOCHS * 3600.0))  # given up: done with a gap


def test_excluded_hosts_do_not_hold_a_block_back() -> None:
    policy = AddressPolicy(parse_exclusions("11.0.0.0/28\n", "exclude.conf"))
    sim = Simulation([Campaign("c1", countries=("KZ", "RU"), started_unix_s=0.0)], campaign_blocks("c1"),
                     FIRST_CENSUS, 60.0, policy=policy)  # fmt: skip
    sim.run(0, 59)
    assert all(_first_census_done(sim, 3600.0))
    assert not _first_census_done(sim, 3600.0, AddressPolicy())[0]  # without the exclusion: hosts missing


@pytest.mark.parametrize(
    ("period_s", "budget", "rate_pps", "round_number"),
    [
        (DAY_S, 15, 100.0, 6_000_000),  # defaults: about one slot per block per round
        (3600.0, 10_000, 100.0, 123_456),  # several slots per block per round
        (3600.0, 24, 0.5, 123_457),  # the per-block allowance and the campaign cap bind
        (900.0, 10_000, 1.0, 99_999),  # a round across an epoch boundary, the cap binds
    ],
)
def test_the_vectorised_chooser_plans_what_the_span_by_span_one_does(
    period_s: float, budget: int, rate_pps: float, round_number: int
) -> None:
    from vantage.collector.discovery import plan as planner

    config = DiscoveryConfig(
        census_period_s=period_s, refresh_period_s=4 * period_s, block_budget_per_hour=budget,
        campaign_rate_pps=rate_pps,
    )  # fmt: skip
    many = [
        Ipv4Range(ip("11.1.0.0"), ip("11.1.63.255"), KZ_AS, "KZ"),
        Ipv4Range(ip("11.2.0.0"), ip("11.2.3.127"), RU_AS, "RU"),
        *RANGES,
    ]
    start = round_number * 300.0 - 5000.0
    campaigns = {
        "a": Campaign("a", asns=(KZ_AS,), started_unix_s=start),
        "b": Campaign("b", countries=("KZ", "RU"), started_unix_s=start + 700.0),
    }
    owners = planner._owned_spans(campaign_blocks("a", many) + campaign_blocks("b", many), campaigns)
    rng = random.Random(round_number)
    histories = {}
    for _, span in owners[::7]:  # some blocks with responders, some censused hosts
        responders = {
            span.address(h) for h in range(span.first_host, span.last_host + 1) if rng.random() < 0.05
        }
        probed = {span.address(h) for h in range(span.first_host, span.last_host + 1) if rng.random() < 0.7}
        epoch = epoch_of(round_number * 300.0, period_s) - 1
        histories[span.block] = apply_results(
            BlockHistory.empty(span.block, epoch), epoch, responders, probed | responders
        )
    policy = AddressPolicy(parse_exclusions("11.1.4.0/22\n11.1.9.17/32\n11.2.1.128/25\n", "x"))
    for round_s in (300.0, 60.0):  # the same moment, in rounds of both lengths
        at_round = int(round_number * 300.0 // round_s)
        args = (owners, campaigns, at_round, round_s, config, policy, histories)
        reference = planner._choose(*args)
        fast = planner._choose_vectorised(*args)
        assert reference or round_s == 60.0, "the case must plan something"  # 60 s: 15/h allows none
        assert sorted(fast, key=lambda c: c[3]) == sorted(reference, key=lambda c: c[3])
