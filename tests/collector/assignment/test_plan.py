"""Work assignment: table-driven cases of the rules, then properties over random fleets."""

from __future__ import annotations

import math
import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vantage.collector.assignment.plan import AssignmentConfig, ProbeSlot, TargetSlot, TaskSpec, assign_round
from vantage.collector.targets.files import parse_targets
from vantage.kinds import Protocol, TaskKind

ICMP, DNS, HTTP, TCP = Protocol.ICMP, Protocol.DNS, Protocol.HTTP, Protocol.TCP
CONFIG = AssignmentConfig()


def probe(probe_id: str, asn: int, country: str = "FR", *, icmp: bool = True, ipv6: bool = True) -> ProbeSlot:
    return ProbeSlot(probe_id, asn, country, icmp, ipv6)


def ping(target_id: str, asn: int, address: str = "192.0.2.1") -> TargetSlot:
    return TargetSlot(target_id, address=address, protocols=(ICMP,), asn=asn)


def measured_by(plan: dict[str, list[TaskSpec]], kind: TaskKind | None = None) -> dict[str, set[str]]:
    """target_id -> probes measuring it."""
    result: dict[str, set[str]] = {}
    for probe_id, tasks in plan.items():
        for task in tasks:
            if kind is None or task.kind is kind:
                result.setdefault(task.target_id, set()).add(probe_id)
    return result


# --- outside-in reachability ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fleet", "expected_ases"),
    [
        # plenty of distinct outside ASes: three of them, never the target's own AS 64500
        ([("a", 64500), ("b", 64501), ("c", 64502), ("d", 64503), ("e", 64504)], "3 distinct outside"),
        # two outside ASes: the third vantage point is a second probe outside, not the inside one
        ([("a", 64500), ("b", 64501), ("c", 64501), ("d", 64502)], {64501, 64502}),
        # only one probe outside: the inside probes fill up
        ([("a", 64500), ("b", 64500), ("c", 64501)], {64500, 64501}),
        # a fleet of two
        ([("a", 64501), ("b", 64502)], {64501, 64502}),
    ],
)
def test_vantage_points_prefer_distinct_outside_ases(
    fleet: list[tuple[str, int]], expected_ases: set[int] | str
) -> None:
    probes = [probe(pid, asn) for pid, asn in fleet]
    plan = assign_round(probes, [ping("t", 64500)], 1, CONFIG)
    chosen = measured_by(plan)["t"]
    assert len(chosen) == min(3, len(fleet))
    asns = [asn for pid, asn in fleet if pid in chosen]
    if expected_ases == "3 distinct outside":
        assert len(set(asns)) == 3 and 64500 not in asns
    else:
        assert set(asns) == expected_ases
        outside = [pid for pid, asn in fleet if asn != 64500]
        assert set(outside[:3]) <= chosen or len(outside) >= 3  # every outside probe is used first


def test_capabilities_icmp_and_ipv6_are_matched() -> None:
    probes = [probe(f"p{i}", 64501 + i, icmp=i % 2 == 0, ipv6=i % 3 == 0) for i in range(24)]
    targets = [
        TargetSlot("v4", address="192.0.2.1", protocols=(ICMP, TCP), port=443, asn=64500),
        TargetSlot("v6", address="2001:db8::1", protocols=(ICMP, TCP), port=443, asn=64499),
    ]
    plan = assign_round(probes, targets, 1, CONFIG)
    capability = {p.probe_id: p for p in probes}
    per_protocol: Counter[tuple[str, Protocol]] = Counter()
    for probe_id, tasks in plan.items():
        for task in tasks:
            per_protocol[(task.target_id, task.protocol)] += 1
            if task.protocol is ICMP:
                assert capability[probe_id].icmp
            if task.target_id == "v6":
                assert capability[probe_id].ipv6
    # each (target, protocol) still gets K vantage points from the capable part of the fleet
    assert set(per_protocol.values()) == {3}


def test_at_most_max_targets_per_as_and_the_same_vantage_points_for_all_of_them() -> None:
    probes = [probe(f"p{i}", 64501 + i) for i in range(10)]
    targets = [ping(f"t{i}", 64500, f"192.0.2.{i}") for i in range(9)]
    plan = measured_by(assign_round(probes, targets, 1, CONFIG))
    assert len(plan) == CONFIG.max_targets_per_as
    assert len({frozenset(probes) for probes in plan.values()}) == 1


def test_reachability_does_not_depend_on_the_round_or_input_order() -> None:
    probes = [probe(f"p{i}", 64501 + i % 6, icmp=i % 3 > 0) for i in range(15)]
    targets = [ping(f"t{i}", 64500 + i % 4, f"192.0.2.{i}") for i in range(12)]
    first = measured_by(assign_round(probes, targets, 1, CONFIG))
    shuffled_probes, shuffled_targets = probes[:], targets[:]
    random.Random(7).shuffle(shuffled_probes)
    random.Random(8).shuffle(shuffled_targets)
    assert measured_by(assign_round(shuffled_probes, shuffled_targets, 99, CONFIG)) == first


def test_unknown_as_target_is_its_own_group_and_unknown_as_probes_count_as_distinct() -> None:
    probes = [probe("a", 0), probe("b", 0), probe("c", 0)]
    plan = measured_by(
        assign_round(probes, [ping("t1", 0, "192.0.2.1"), ping("t2", 0, "192.0.2.2")], 1, CONFIG)
    )
    assert plan == {"t1": {"a", "b", "c"}, "t2": {"a", "b", "c"}}


def test_empty_inputs_and_duplicate_probe_ids() -> None:
    assert assign_round([], [ping("t", 1)], 1, CONFIG) == {}
    assert assign_round([probe("a", 1)], [], 1, CONFIG) == {"a": []}
    with pytest.raises(ValueError, match="duplicate probe_id"):
        assign_round([probe("a", 1), probe("a", 2)], [], 1, CONFIG)
    with pytest.raises(ValueError, match="vantage_points_per_as must be at least 1"):
        AssignmentConfig(vantage_points_per_as=0)


# --- task contents ----------------------------------------------------------------------------


def only_task(plan: dict[str, list[TaskSpec]], protocol: Protocol) -> TaskSpec:
    tasks = {task for tasks in plan.values() for task in tasks if task.protocol is protocol}
    assert (
        len({(t.address, t.name, t.port, t.url, t.query_name, t.query_type, t.expected) for t in tasks}) == 1
    )
    return next(iter(tasks))


@pytest.mark.parametrize(
    ("target", "config", "expected"),
    [
        (
            TargetSlot("dns1", address="192.0.2.53", protocols=(DNS,), asn=64500),
            CONFIG,
            {"address": "192.0.2.53", "query_name": ".", "query_type": "SOA", "expected": ()},
        ),
        (
            TargetSlot(
                "dns2",
                address="192.0.2.53",
                port=5353,
                protocols=(DNS,),
                asn=64500,
                tags=("qname:example.org", "expect:192.0.2.80", "expect:192.0.2.81"),
            ),
            CONFIG,
            {
                "port": 5353,
                "query_name": "example.org",
                "query_type": "A",
                "expected": ("192.0.2.80", "192.0.2.81"),
            },
        ),
        (
            TargetSlot("dns3", address="2001:db8::53", protocols=(DNS,), asn=64500, tags=("qtype:NS",)),
            CONFIG,
            {"query_name": ".", "query_type": "NS"},
        ),
        (
            TargetSlot(
                "web",
                url="https://www.example.org/x",
                name="www.example.org",
                port=443,
                protocols=(DNS,),
                asn=64500,
            ),
            AssignmentConfig(dns_resolver_address="198.51.100.53"),
            {
                "address": "198.51.100.53",
                "name": "www.example.org",
                "query_name": "www.example.org",
                "query_type": "A",
            },
        ),
        (
            TargetSlot("http1", address="2001:db8::80", port=8080, protocols=(HTTP,), asn=64500),
            CONFIG,
            {"url": "http://[2001:db8::80]:8080/", "address": "2001:db8::80"},
        ),
        (
            TargetSlot("http2", name="www.example.org", protocols=(HTTP,), asn=64500),
            CONFIG,
            {"url": "http://www.example.org/", "address": "", "name": "www.example.org"},
        ),
        (
            TargetSlot("tcp", address="192.0.2.1", port=443, protocols=(TCP,), asn=64500),
            CONFIG,
            {"address": "192.0.2.1", "port": 443, "url": "", "query_name": ""},
        ),
        (
            TargetSlot("icmp", address="192.0.2.1", protocols=(ICMP,), asn=64500),
            AssignmentConfig(icmp_count=5, icmp_interval_ms=200, timeout_ms=1500),
            {"count": 5, "interval_ms": 200, "timeout_ms": 1500},
        ),
    ],
)
def test_task_fields(target: TargetSlot, config: AssignmentConfig, expected: dict[str, object]) -> None:
    plan = assign_round([probe(f"p{i}", 64501 + i) for i in range(4)], [target], 3, config)
    task = only_task(plan, target.protocols[0])
    assert task.target_id == target.target_id and task.kind is TaskKind.REACHABILITY
    for field, value in expected.items():
        assert getattr(task, field) == value, field


@pytest.mark.parametrize(
    "target",
    [
        TargetSlot("no-address-icmp", name="www.example.org", protocols=(ICMP,), asn=1),
        TargetSlot("no-port-tcp", address="192.0.2.1", protocols=(TCP,), asn=1),
        TargetSlot(
            "url-dns-without-resolver",
            url="http://www.example.org/",
            name="www.example.org",
            protocols=(DNS,),
        ),
    ],
)
def test_unrunnable_protocols_are_skipped(target: TargetSlot) -> None:
    plan = assign_round([probe(f"p{i}", 64501 + i) for i in range(4)], [target], 1, CONFIG)
    assert all(tasks == [] for tasks in plan.values())


def test_task_ids_are_deterministic_unique_and_carry_the_round() -> None:
    probes = [probe(f"p{i}", 64501 + i, "KZ" if i % 2 else "FR") for i in range(8)]
    targets = [
        TargetSlot(f"t{i}", address=f"192.0.2.{i}", port=80, protocols=(ICMP, TCP, HTTP), asn=64500 + i)
        for i in range(6)
    ]
    first = assign_round(probes, targets, 42, CONFIG)
    ids = [task.task_id for tasks in first.values() for task in tasks]
    assert len(ids) == len(set(ids)) and ids
    assert all(re.fullmatch(r"r42-[0-9a-f]{16}", task_id) for task_id in ids)
    assert assign_round(probes, targets, 42, CONFIG) == first
    later = assign_round(probes, targets, 43, CONFIG)
    assert {i.removeprefix("r42-") for i in ids} == {
        t.task_id.removeprefix("r43-") for tasks in later.values() for t in tasks
    }


def test_target_slot_from_rows() -> None:
    parsed = parse_targets(
        "target,protocols,country,asn,tags\n"
        "192.0.2.1,icmp;tcp,KZ,64500,port:443\n"
        "https://www.example.org:8443/a,http;tcp,,,list:KZ\n"
        "http://198.51.100.7/,http,,,\n"
        "resolver.example.org,dns,,,\n",
        source_name="t.csv",
    )
    slots = [
        TargetSlot.from_row(row, target_id=f"id{n}", asn=64999, country="FR")
        for n, row in enumerate(parsed.rows)
    ]
    assert slots[0] == TargetSlot("id0", "192.0.2.1", "", "", 443, (ICMP, TCP), 64500, "KZ", ("port:443",))
    assert (slots[1].address, slots[1].name, slots[1].port, slots[1].list_scopes) == (
        "",
        "www.example.org",
        8443,
        ("KZ",),
    )
    assert (slots[2].address, slots[2].name, slots[2].url, slots[2].port) == (
        "198.51.100.7",
        "",
        "http://198.51.100.7/",
        80,
    )
    assert (slots[3].name, slots[3].asn, slots[3].country) == ("resolver.example.org", 64999, "FR")


# --- inside-out interference -----------------------------------------------------------------


def make_list(scope: str, count: int, prefix: str) -> list[TargetSlot]:
    return [
        TargetSlot(
            f"{prefix}{i:03d}",
            url=f"http://{prefix}{i}.example.org/",
            name=f"{prefix}{i}.example.org",
            protocols=(DNS, HTTP, TCP),
            tags=("NEWS", f"list:{scope}"),
        )
        for i in range(count)
    ]


def test_country_probes_measure_their_list_and_controls_elsewhere_measure_the_same_targets() -> None:
    probes = (
        [probe(f"kz{i}", 9198 + i, "KZ") for i in range(3)]
        + [probe(f"fr{i}", 3215 + i, "FR") for i in range(3)]
        + [probe("ru0", 12389, "RU")]
    )
    targets = make_list("KZ", 40, "kz") + make_list("global", 30, "gl")
    plan = assign_round(probes, targets, 5, CONFIG)
    seen = measured_by(plan, TaskKind.INTERFERENCE)
    kz_targets = {t for t in seen if t.startswith("kz")}
    assert len(kz_targets) == CONFIG.country_list_share  # one window, measured by all three KZ probes
    for target_id in kz_targets:
        inside = {p for p in seen[target_id] if p.startswith("kz")}
        controls = seen[target_id] - inside
        assert inside == {"kz0", "kz1", "kz2"}
        assert len(controls) == CONFIG.control_probes_per_target
        assert len({p[:2] for p in controls}) == 2  # distinct countries (FR and RU) first
    for tasks in plan.values():
        global_targets = {t.target_id for t in tasks if t.target_id.startswith("gl")}
        assert len(global_targets) == CONFIG.global_list_share
        assert all(t.protocol is HTTP for t in tasks)  # DNS needs a resolver, TCP an address
    # everyone measures the same global window: each probe is the others' control
    assert len({t for t in seen if t.startswith("gl")}) == CONFIG.global_list_share


def test_windows_rotate_and_cover_the_whole_list() -> None:
    probes = [probe("kz0", 9198, "KZ"), probe("fr0", 3215, "FR")]
    targets = make_list("KZ", 23, "kz")
    rounds = math.ceil(23 / CONFIG.country_list_share)
    covered: set[str] = set()
    windows = []
    for round_number in range(100, 100 + rounds):
        window = set(measured_by(assign_round(probes, targets, round_number, CONFIG)))
        windows.append(window)
        covered |= window
    assert covered == {t.target_id for t in targets}
    assert windows[0] != windows[1]


def test_a_crowded_country_spreads_over_a_wider_window_within_the_cap() -> None:
    probes = [probe(f"kz{i:02d}", 9000 + i, "KZ") for i in range(60)] + [probe("fr0", 3215, "FR")]
    targets = make_list("KZ", 200, "kz")
    plan = assign_round(probes, targets, 1, CONFIG)
    seen = measured_by(plan)
    assert max(len(p) for p in seen.values()) <= CONFIG.max_probes_per_target
    inside_cap = CONFIG.max_probes_per_target - CONFIG.control_probes_per_target
    assert len(seen) == math.ceil(60 * CONFIG.country_list_share / inside_cap) + CONFIG.country_list_share
    assert all(len({t.target_id for t in plan[f"kz{i:02d}"]}) == CONFIG.country_list_share for i in range(60))


def test_a_country_without_probes_is_not_measured() -> None:
    plan = assign_round([probe("fr0", 3215, "FR")], make_list("KZ", 5, "kz"), 1, CONFIG)
    assert plan == {"fr0": []}


# --- properties -------------------------------------------------------------------------------

COUNTRIES = ("KZ", "FR", "RU", "")
probe_strategy = st.builds(
    ProbeSlot,
    probe_id=st.text("abcdefgh", min_size=1, max_size=4),
    asn=st.integers(0, 8),
    country=st.sampled_from(COUNTRIES),
    icmp=st.booleans(),
    ipv6=st.booleans(),
)
fleet_strategy = st.lists(probe_strategy, max_size=25, unique_by=lambda p: p.probe_id)


@st.composite
def target_strategy(draw: st.DrawFn, index: int) -> TargetSlot:
    v6 = draw(st.booleans())
    scope = draw(st.sampled_from(("", "", "list:KZ", "list:global")))
    return TargetSlot(
        f"t{index}",
        address=f"2001:db8::{index + 1:x}" if v6 else f"192.0.2.{index % 250}",
        port=443,
        protocols=tuple(sorted(draw(st.sets(st.sampled_from([ICMP, DNS, HTTP, TCP]), min_size=1)))),
        asn=draw(st.integers(0, 8)),
        tags=(scope,) if scope else (),
    )


targets_strategy = st.integers(0, 20).flatmap(lambda n: st.tuples(*[target_strategy(i) for i in range(n)]))
config_strategy = st.builds(
    AssignmentConfig,
    vantage_points_per_as=st.integers(1, 4),
    max_probes_per_target=st.integers(1, 6),
    country_list_share=st.integers(0, 4),
    global_list_share=st.integers(0, 3),
    control_probes_per_target=st.integers(0, 2),
)


@settings(max_examples=150, deadline=None)
@given(fleet_strategy, targets_strategy, st.integers(0, 10**6), config_strategy)
def test_properties_cap_capabilities_determinism(
    fleet: list[ProbeSlot], targets: tuple[TargetSlot, ...], round_number: int, config: AssignmentConfig
) -> None:
    plan = assign_round(fleet, targets, round_number, config)
    assert plan == assign_round(list(reversed(fleet)), list(reversed(targets)), round_number, config)
    assert set(plan) == {p.probe_id for p in fleet}
    by_id = {p.probe_id: p for p in fleet}
    for target_id, probes in measured_by(plan).items():
        assert len(probes) <= config.max_probes_per_target, target_id
    for probe_id, tasks in plan.items():
        assert len({t.task_id for t in tasks}) == len(tasks)
        for task in tasks:
            assert by_id[probe_id].icmp or task.protocol is not ICMP
            assert by_id[probe_id].ipv6 or ":" not in task.address
    for target_id, probes in measured_by(plan, TaskKind.REACHABILITY).items():
        target = next(t for t in targets if t.target_id == target_id)
        ases = {by_id[p].asn or p for p in probes}
        outside = {
            p.asn or p.probe_id
            for p in fleet
            if (not target.asn or p.asn != target.asn) and (p.ipv6 or ":" not in target.address)
        }
        if target.protocols == (HTTP,) and len(outside) >= config.vantage_points_per_as:
            # HTTP needs no ICMP: K distinct outside ASes whenever the (IPv6-capable) fleet has them
            assert len(probes) == len(ases) == min(config.vantage_points_per_as, config.max_probes_per_target)


@settings(max_examples=100, deadline=None)
@given(fleet_strategy, targets_strategy, probe_strategy)
def test_property_adding_a_probe_moves_only_work_it_takes(
    fleet: list[ProbeSlot], targets: tuple[TargetSlot, ...], newcomer: ProbeSlot
) -> None:
    if newcomer.probe_id in {p.probe_id for p in fleet}:
        return
    before = measured_by(assign_round(fleet, targets, 1, CONFIG), TaskKind.REACHABILITY)
    after = measured_by(assign_round([*fleet, newcomer], targets, 1, CONFIG), TaskKind.REACHABILITY)
    for target_id in set(before) | set(after):
        if before.get(target_id) != after.get(target_id):
            assert newcomer.probe_id in after.get(target_id, set()), target_id


def test_adding_one_probe_to_a_large_fleet_moves_about_k_over_n_of_the_work() -> None:
    rng = random.Random(2026)
    probes = [
        probe(f"p{i:03d}", 1000 + rng.randrange(150), rng.choice(["KZ", "FR", "RU", "DE"]))
        for i in range(200)
    ]
    targets = [ping(f"t{i}", 64500 + i, f"192.0.2.{i % 250}") for i in range(1000)]
    before = assign_round(probes, targets, 1, CONFIG)
    after = assign_round([*probes, probe("newcomer", 4242, "KZ")], targets, 1, CONFIG)
    pairs_before = {(p, t.target_id) for p, tasks in before.items() for t in tasks}
    pairs_after = {(p, t.target_id) for p, tasks in after.items() for t in tasks}
    moved = len(pairs_before - pairs_after) / len(pairs_before)
    assert moved <= 2 / len(probes) * 1.5  # expectation 1/N of the vantage points; generous slack
    assert {p for p, _ in pairs_after - pairs_before} == {"newcomer"}
    loads = Counter(p for p, _ in pairs_before)
    mean = len(pairs_before) / len(probes)
    assert max(loads.values()) < 2.5 * mean  # balanced: no probe far above the mean


def test_the_numpy_accelerator_gives_exactly_the_pure_answer() -> None:
    rng = random.Random(11)
    probes = [
        probe(
            f"p{i:03d}",
            1000 + rng.randrange(40),
            rng.choice(["KZ", "FR", ""]),
            icmp=rng.random() < 0.7,
            ipv6=rng.random() < 0.3,
        )
        for i in range(150)
    ]
    targets = [
        TargetSlot(
            f"t{i}",
            address=f"2001:db8::{i:x}" if i % 3 == 0 else f"192.0.2.{i % 250}",
            port=443,
            protocols=(ICMP, TCP),
            asn=1000 + rng.randrange(60),
        )
        for i in range(300)
    ]
    fast = assign_round(probes, targets, 5, CONFIG)
    assert fast == assign_round(probes, targets, 5, CONFIG, use_numpy=False)
    assert sum(len(tasks) for tasks in fast.values()) > 0
