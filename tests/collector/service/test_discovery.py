"""Target discovery through a real collector process: campaigns, census work, results, hitlists.

No probe runs here: the tests read the work plans over gRPC and answer them with synthetic
results, so no packet is sent to any address (the documentation ranges used are opened with
--allow-range only so that the plans can name them).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.collector.conftest import TEST_RANGES, VANTAGE, CollectorProcess, enroll, start_collector
from tests.collector.issued import icmp_answer
from vantage.collector.discovery.census import slots_in_round
from vantage.collector.service.address_guard import AddressGuard, GuardSource
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.auth import bearer_metadata
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.discovery_rpc import new_campaign
from vantage.collector.service.locator import Locator
from vantage.collector.service.server import reload_guard
from vantage.collector.service.work import WorkPlanner
from vantage.collector.storage.records import CampaignRecord, EnrollmentToken, ProbeRecord, TokenStatus
from vantage.collector.storage.sqlite import SqliteStorage
from vantage.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    measurement_pb2,
    probe_service_pb2,
    probe_service_pb2_grpc,
    query_service_pb2,
    query_service_pb2_grpc,
)

# iptoasn form: start, end, ASN, country, name. Two Kazakh ASes to discover, one Dutch AS for
# the probes (outside both).
DATASET = (
    "198.51.100.0\t198.51.100.255\t64500\tKZ\tKAZ-ONE Example Telecom\n"
    "203.0.113.0\t203.0.113.255\t64501\tKZ\tKAZ-TWO Example Networks\n"
    "192.0.2.0\t192.0.2.255\t64510\tNL\tNL-PROBES Example Hosting\n"
)
KZ_BLOCKS = (ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("203.0.113.0/24"))
ROUND_S = "2"
# A census period of a minute in 2-second rounds needs ~9 echoes per /24 per round: the lab's
# scale, far above the default budget (15/hour), so the tests raise it.
LAB_BOUNDS = ("--discovery-budget", "100000", "--discovery-rate", "1000")
DEADLINE_S = 60.0
FIRST_ROUND = 900_000_000  # in-process tests: the clock starts here (2-second rounds, late 2026)


def start(tmp_path: Path, *extra: str) -> CollectorProcess:
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET, encoding="utf-8")
    return start_collector(
        tmp_path / "collector", "--round-seconds", ROUND_S, "--asn-db", str(dataset), *LAB_BOUNDS, *extra
    )


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    handle = start(tmp_path)
    try:
        yield handle
    finally:
        handle.stop(signal.SIGKILL)


def admin(collector: CollectorProcess, method: str, request: object) -> object:
    with collector.channel() as channel:
        stub = admin_service_pb2_grpc.AdminServiceStub(channel)
        return getattr(stub, method)(request, metadata=collector.admin_metadata, timeout=30)


def census_period_with_slots(round_s: float, shortest_s: int, rounds_ahead: int = 3) -> int:
    """A census period (from `shortest_s` up) whose schedule has slots of both blocks in this
    round and the next few: the last round of an epoch can fall in the schedule's gap (slots
    stay in the first P - L seconds, collector/discovery/census.py), and a test that asserts
    census work must not start there. The schedule is pure, so the test can ask it."""
    now_round = int(time.time() // round_s)
    blocks = [int(b.network_address) >> 8 for b in KZ_BLOCKS]
    for period in range(shortest_s, shortest_s * 2):
        if all(
            slots_in_round(block, r, round_s, float(period))
            for block in blocks
            for r in range(now_round, now_round + rounds_ahead)
        ):
            return period
    raise AssertionError("no census period with slots in the coming rounds")


def start_discovery(
    collector: CollectorProcess, *, period_s: int | None = None, **fields: object
) -> admin_service_pb2.DiscoveryCampaign:
    request = admin_service_pb2.StartDiscoveryRequest(**fields)  # type: ignore[arg-type]
    request.census_period.FromSeconds(period_s or census_period_with_slots(float(ROUND_S), 60))
    campaign = admin(collector, "StartDiscovery", request)
    assert isinstance(campaign, admin_service_pb2.DiscoveryCampaign)
    return campaign


def campaigns(collector: CollectorProcess) -> list[admin_service_pb2.DiscoveryCampaign]:
    response = admin(
        collector, "ListDiscovery", admin_service_pb2.ListDiscoveryRequest(include_cancelled=True)
    )
    assert isinstance(response, admin_service_pb2.ListDiscoveryResponse)
    return list(response.campaigns)


def probe_at(collector: CollectorProcess, asn: int, country: str) -> probe_service_pb2.EnrollResponse:
    probe = enroll(collector)
    admin(
        collector,
        "PinProbeLocation",
        admin_service_pb2.PinProbeLocationRequest(probe_id=probe.probe_id, asn=asn, country=country),
    )
    return probe


def get_work(
    collector: CollectorProcess, probe: probe_service_pb2.EnrollResponse
) -> probe_service_pb2.WorkPlan:
    with collector.channel() as channel:
        stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        request = probe_service_pb2.GetWorkRequest(
            capabilities=probe_service_pb2.ProbeCapabilities(icmp=True)
        )
        plan: probe_service_pb2.WorkPlan = stub.GetWork(
            request, metadata=bearer_metadata(probe.credential), timeout=30
        )
        return plan


def census_tasks(plan: probe_service_pb2.WorkPlan) -> list[probe_service_pb2.Task]:
    return [t for t in plan.tasks if t.kind == probe_service_pb2.TASK_KIND_DISCOVERY]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class InProcess:
    """The collector's own planner (service/work.py) over real SQLite, with an injected clock:
    a test asks the plan of the round it chooses, not of whatever round the wall clock is in."""

    def __init__(self, root: Path, exclude: Path | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        dataset = root / "asn.tsv"
        dataset.write_text(DATASET, encoding="utf-8")
        self.storage = SqliteStorage(root / "c.sqlite3")
        self.round_s = float(ROUND_S)
        self.clock = Clock(FIRST_ROUND * self.round_s)
        config = CollectorConfig(
            collector_id="test",
            round_seconds=self.round_s,
            discovery_block_budget_per_hour=int(LAB_BOUNDS[1]),
            discovery_rate_pps=float(LAB_BOUNDS[3]),
        )
        guard = AddressGuard(GuardSource(exclude_file=exclude, allow_ranges=TEST_RANGES))
        self.app = CollectorApp(self.storage, config, Locator([dataset]), clock=self.clock, guard=guard)
        self.planner = WorkPlanner(self.app)
        self.period_s = 61.0  # not a multiple of the round: see rounds_with_slots

    def probe(self, probe_id: str, asn: int, country: str) -> ProbeRecord:
        n = len(self.storage.list_probes())
        self.storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        record = ProbeRecord(
            probe_id, probe_id, f"c{n}", self.clock.now, pinned_asn=asn, pinned_country=country
        )
        record = dataclasses.replace(record, capability_icmp=True)
        assert self.storage.enroll_probe(f"h{n}", record, self.clock.now) is TokenStatus.OK
        return record

    def start_campaign(self, **fields: object) -> CampaignRecord:
        request = admin_service_pb2.StartDiscoveryRequest(**fields)  # type: ignore[arg-type]
        request.census_period.FromNanoseconds(int(self.period_s * 1e9))
        record = new_campaign(
            request,
            self.app.locator,
            now_unix_s=self.clock.now,
            round_seconds=self.round_s,
            bounds=self.app.discovery.bounds,
        )
        self.storage.add_campaign(record)
        return record

    def rounds_with_slots(self, count: int) -> list[int]:
        """The first `count` rounds after the campaign's creation round in which both blocks have
        census slots (the schedule is pure: the test asks it; the last round of an epoch can
        fall in the schedule's gap, collector/discovery/census.py)."""
        blocks = [int(b.network_address) >> 8 for b in KZ_BLOCKS]
        found: list[int] = []
        round_number = int(self.clock.now // self.round_s) + 1
        while len(found) < count:
            if all(slots_in_round(block, round_number, self.round_s, self.period_s) for block in blocks):
                found.append(round_number)
            round_number += 1
        return found

    def round_with_slots(self) -> int:
        return self.rounds_with_slots(1)[0]

    def census(self, probe: ProbeRecord, round_number: int) -> list[probe_service_pb2.Task]:
        """The probe's census tasks of that round, as GetWork would hand them out then."""
        self.clock.now = round_number * self.round_s
        tasks = self.planner.tasks_for(probe, round_number)
        return [t for t in tasks if t.kind == probe_service_pb2.TASK_KIND_DISCOVERY]


# ---------------------------------------------------------------- bad input: nothing half applied
@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"countries": ["XX"]}, "country 'XX' is not in the loaded datasets"),
        ({"countries": ["KZ", "K1"]}, "'K1'"),
        ({"countries": ["KZ"], "asns": [64500, 64999]}, "AS 64999 is not in the loaded datasets"),
        ({}, "at least one country or AS"),
    ],
)
def test_start_discovery_refuses_unknown_scope_and_stores_nothing(
    collector: CollectorProcess, fields: dict[str, object], named: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        start_discovery(collector, **fields)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert named in (caught.value.details() or "")
    assert campaigns(collector) == []


def test_a_census_period_the_budget_cannot_carry_is_refused(tmp_path: Path) -> None:
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET, encoding="utf-8")
    handle = start_collector(tmp_path / "c", "--round-seconds", ROUND_S, "--asn-db", str(dataset))
    try:
        with pytest.raises(grpc.RpcError) as caught:
            start_discovery(handle, countries=["KZ"])  # a minute's census under 15 echoes/hour
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "budget" in (caught.value.details() or "")
        assert campaigns(handle) == []
    finally:
        handle.stop(signal.SIGKILL)


# ---------------------------------------------------------------- campaigns and census work
def test_campaign_lists_progress_and_cancels(collector: CollectorProcess) -> None:
    started = start_discovery(collector, countries=["kz"])
    assert list(started.countries) == ["KZ"] and started.state == admin_service_pb2.CAMPAIGN_STATE_ACTIVE
    assert started.blocks_total == 2 and started.blocks_done == 0 and started.HasField("eta")
    assert 60 <= started.census_period.seconds < 120
    assert [c.id for c in campaigns(collector)] == [started.id]
    cancelled = admin(collector, "CancelDiscovery", admin_service_pb2.CancelDiscoveryRequest(id=started.id))
    assert isinstance(cancelled, admin_service_pb2.DiscoveryCampaign)
    assert cancelled.state == admin_service_pb2.CAMPAIGN_STATE_CANCELLED and cancelled.HasField(
        "cancelled_at"
    )
    active = admin(collector, "ListDiscovery", admin_service_pb2.ListDiscoveryRequest())
    assert isinstance(active, admin_service_pb2.ListDiscoveryResponse) and not active.campaigns
    with pytest.raises(grpc.RpcError) as caught:
        admin(collector, "CancelDiscovery", admin_service_pb2.CancelDiscoveryRequest(id="nope"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


def test_census_work_goes_to_probes_outside_the_country_one_address_once(tmp_path: Path) -> None:
    setup = InProcess(tmp_path)
    outside = [setup.probe(f"nl-{n}", 64510, "NL") for n in range(3)]
    inside = setup.probe("kz", 64500, "KZ")
    setup.start_campaign(countries=["KZ"])
    round_number = setup.round_with_slots()
    plans = {p.probe_id: setup.census(p, round_number) for p in [*outside, inside]}
    tasks = [t for p in outside for t in plans[p.probe_id]]
    assert tasks, "the round was chosen so that both blocks have slots in it"
    assert plans[inside.probe_id] == []  # never from inside the AS or country
    addresses = [t.target.address for t in tasks]
    assert len(addresses) == len(set(addresses))  # never one address from two probes in a round
    assert {t.target.target_id for t in tasks} == {f"block:{b}" for b in KZ_BLOCKS}
    for task in tasks:
        address = ipaddress.ip_address(task.target.address)
        block = next(b for b in KZ_BLOCKS if address in b)
        assert task.protocol == measurement_pb2.PROTOCOL_ICMP and task.options.count == 1
        assert task.target.target_id == f"block:{block}"


def test_an_exclusion_list_keeps_its_networks_out_of_every_plan(tmp_path: Path) -> None:
    exclude = tmp_path / "blocklist.conf"
    exclude.write_text("# operator's opt-outs\n198.51.100.0/24  # AS64500 asked\n", encoding="utf-8")
    handle = start(tmp_path, "--exclude", str(exclude))
    try:
        probes = [probe_at(handle, 64510, "NL") for _ in range(2)]
        admin(
            handle,
            "ImportTargets",
            admin_service_pb2.ImportTargetsRequest(
                targets=[admin_service_pb2.TargetSpec(target="198.51.100.7", protocols=[1], asn=64500)]
            ),
        )
        start_discovery(handle, countries=["KZ"])
        # The census gives each block's hosts slots in time (collector/discovery/census.py): on a
        # busy machine the round the plans are asked in can fall between the other block's slots,
        # so plans are asked until census work shows up, and every plan asked is checked.
        addresses: set[str] = set()
        deadline = time.monotonic() + DEADLINE_S
        while not addresses and time.monotonic() < deadline:
            addresses = {t.target.address for p in probes for t in get_work(handle, p).tasks}
            if not addresses:
                time.sleep(0.5)  # pacing of the poll, not an assertion
        assert addresses, "the other block is still censused"
        assert not [a for a in addresses if ipaddress.ip_address(a) in KZ_BLOCKS[0]]
    finally:
        handle.stop(signal.SIGKILL)


def test_special_purpose_targets_are_refused_unless_opened(tmp_path: Path) -> None:
    handle = start_collector(tmp_path / "c", "--round-seconds", "3600", open_ranges=("198.51.100.0/24",))
    try:
        probe = enroll(handle)
        admin(
            handle,
            "ImportTargets",
            admin_service_pb2.ImportTargetsRequest(
                targets=[
                    admin_service_pb2.TargetSpec(target=target, protocols=[1], asn=64500)
                    for target in ("198.51.100.1", "192.0.2.1", "10.1.2.3", "127.0.0.1")
                ]
            ),
        )
        assert {t.target.address for t in get_work(handle, probe).tasks} == {"198.51.100.1"}
    finally:
        handle.stop(signal.SIGKILL)


def test_a_bad_exclusion_file_stops_the_start_naming_its_line(tmp_path: Path) -> None:
    exclude = tmp_path / "blocklist.conf"
    exclude.write_text("192.0.2.0/24\n198.51.100.0/33\n", encoding="utf-8")
    data_dir = tmp_path / "c"
    done = subprocess.run(
        [
            *VANTAGE,
            "collector",
            "serve",
            "--data-dir",
            str(data_dir),
            "--plaintext",
            "--exclude",
            str(exclude),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"{exclude}:2" in done.stderr
    assert not (data_dir / "collector.sqlite3").exists()  # nothing was opened
    bad_range = subprocess.run(
        [
            *VANTAGE,
            "collector",
            "serve",
            "--data-dir",
            str(data_dir),
            "--plaintext",
            "--allow-range",
            "10.0.0.0/99",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_range.returncode == 2 and "10.0.0.0/99" in bad_range.stderr


# ---------------------------------------------------------------- results -> histories -> targets
def submit(
    collector: CollectorProcess,
    probe: probe_service_pb2.EnrollResponse,
    items: list[measurement_pb2.Measurement],
) -> None:
    with collector.channel() as channel:
        stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
        batch = probe_service_pb2.ResultBatch(batch_id=str(uuid.uuid4()), measurements=items)
        acks = list(stub.SubmitResults(iter([batch]), metadata=bearer_metadata(probe.credential), timeout=30))
    assert acks[0].accepted == len(items), acks


@pytest.mark.slow
def test_census_results_become_histories_and_discovered_targets(collector: CollectorProcess) -> None:
    probes = [probe_at(collector, 64510, "NL") for _ in range(2)]
    campaign = start_discovery(collector, countries=["KZ"])
    answered: set[str] = set()
    deadline = time.monotonic() + DEADLINE_S
    found: list[admin_service_pb2.TargetSpec] = []
    while time.monotonic() < deadline and not found:
        for probe in probes:
            plan = get_work(collector, probe)
            items = []
            for task in census_tasks(plan):
                # Every address ending in an even number answers: a sparse, known responder set.
                yes = int(task.target.address.rsplit(".", 1)[1]) % 2 == 0
                if yes:
                    answered.add(task.target.address)
                items.append(icmp_answer(task, probe.probe_id, plan.round, answered=yes, echoes=1))
            if items:
                submit(collector, probe, items)
        listed = admin(collector, "ListTargets", admin_service_pb2.ListTargetsRequest(source="discovery"))
        assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
        found = list(listed.targets)
        time.sleep(1.0)  # pacing of the poll, not an assertion
    assert found, "discovered targets appear once a round with responders is computed"
    assert all(t.source == "discovery" and t.target in answered for t in found)
    assert {t.asn for t in found} <= {64500, 64501}
    progress = next(c for c in campaigns(collector) if c.id == campaign.id)
    assert progress.responders >= len(found)
    # The discovery echoes are no verdict observations: no AS verdict counts them as targets.
    with collector.channel() as channel:
        query = query_service_pb2_grpc.QueryServiceStub(channel)
        coverage = query.GetCoverage(query_service_pb2.GetCoverageRequest(country="KZ"), timeout=30)
    by_asn = {row.asn: row for row in coverage.ases}
    assert set(by_asn) == {64500, 64501}
    assert sum(row.blocks_responsive for row in coverage.ases) >= 1
    assert all(row.vantage_points == 2 and row.vantage_ases == 1 for row in coverage.ases)
    assert all(not row.analysable and "AS(es)" in row.reason for row in coverage.ases)  # one vantage AS
    assert [c.country for c in coverage.countries] == ["KZ"] and coverage.countries[0].analysable_share == 0.0
    # Not analysable (one vantage AS): the verdict says UNKNOWN and why, never a guess.
    with collector.channel() as channel:
        status = query_service_pb2_grpc.QueryServiceStub(channel).GetAsStatus(
            query_service_pb2.GetAsStatusRequest(asn=64501), timeout=30
        )
    assert status.status == query_service_pb2.STATUS_UNKNOWN
    assert "not analysable" in status.evidence.summary and "AS(es)" in status.evidence.summary
    assert status.algorithm_version.endswith("+coverage-gate/1")


# ---------------------------------------------------------------- hitlists
ISI_HITLIST = (
    "#fsdb -F t hex_ip history score\n"
    "c6336401\tffff\t99\n"  # 198.51.100.1: answered all 16 censuses
    "c6336402\t0001\t50\n"  # 198.51.100.2: only the latest
    "c633640z\tffff\t99\n"  # line 4: not hex
    "cb007105\tfffe\t-10\n"  # 203.0.113.5: skipped by --min-score 20
    "cb007106\t00ff\t40\tstray\n"  # line 6: a field too many
    "cb007107\t000f\t60\n"
)


def import_hitlist(collector: CollectorProcess, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *VANTAGE,
            "collector",
            "targets",
            "import-hitlist",
            str(path),
            "--collector",
            collector.address,
            "--plaintext",
            "--data-dir",
            str(collector.data_dir),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("compressed", [False, True])
def test_hitlist_import_keeps_good_lines_names_bad_ones_and_selects_targets(
    collector: CollectorProcess, tmp_path: Path, compressed: bool
) -> None:
    import gzip

    path = tmp_path / ("hitlist.fsdb.gz" if compressed else "hitlist.fsdb")
    data = ISI_HITLIST.encode()
    path.write_bytes(gzip.compress(data) if compressed else data)
    done = import_hitlist(collector, path, "--min-score", "20", "--json")
    assert done.returncode == 1, done.stderr
    import json

    summary = json.loads(done.stdout)
    assert [e["line"] for e in summary["errors"]] == [4, 6]
    assert summary["imported"] == 3 and summary["skipped"] == 1 and summary["blocks"] == 2
    listed = admin(collector, "ListTargets", admin_service_pb2.ListTargetsRequest(source="discovery"))
    assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
    # Scores 99 (.1: every census), 50 (.2: the latest only), 93 (.7: the latest four) meet the
    # selection's floor of 50; two per block at most.
    assert {t.target for t in listed.targets} == {"198.51.100.1", "198.51.100.2", "203.0.113.7"}
    assert all(t.source == "discovery" for t in listed.targets)


def test_a_hand_imported_target_wins_over_a_discovered_one(
    collector: CollectorProcess, tmp_path: Path
) -> None:
    admin(
        collector,
        "ImportTargets",
        admin_service_pb2.ImportTargetsRequest(
            targets=[
                admin_service_pb2.TargetSpec(
                    target="198.51.100.1", protocols=[1, 4], tags=["port:443"], source="csv"
                )
            ]
        ),
    )
    path = tmp_path / "hitlist.fsdb"
    path.write_text("#fsdb -F t hex_ip history score\nc6336401\tffff\t99\n", encoding="utf-8")
    done = import_hitlist(collector, path)
    assert done.returncode == 0, done.stderr
    listed = admin(collector, "ListTargets", admin_service_pb2.ListTargetsRequest())
    assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
    mine = [t for t in listed.targets if t.target == "198.51.100.1"]
    assert len(mine) == 1 and mine[0].source == "csv" and "port:443" in mine[0].tags


# ---------------------------------------------------------------- restart
def test_a_campaign_survives_a_restart_and_plans_the_same_work(tmp_path: Path) -> None:
    """Hour-long rounds: both plans fall in one round, so they must be equal task for task."""
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET, encoding="utf-8")
    args = ("--round-seconds", "3600", "--asn-db", str(dataset), *LAB_BOUNDS)
    first = start_collector(tmp_path / "c", *args)
    try:
        probe = probe_at(first, 64510, "NL")
        request = admin_service_pb2.StartDiscoveryRequest(countries=["KZ"])
        request.census_period.FromSeconds(census_period_with_slots(3600.0, 4 * 3600, rounds_ahead=1))
        campaign = admin(first, "StartDiscovery", request)
        assert isinstance(campaign, admin_service_pb2.DiscoveryCampaign)
        before = get_work(first, probe)
    finally:
        assert first.stop() == 0
    second = start_collector(tmp_path / "c", *args)
    try:
        assert [c.id for c in campaigns(second)] == [campaign.id]
        after = get_work(second, probe)
        assert after.round == before.round, "the test straddled an hour boundary: rerun"
        assert census_tasks(before), "the census period was chosen so that this round has slots"
        assert [(t.id, t.target.address) for t in census_tasks(after)] == [
            (t.id, t.target.address) for t in census_tasks(before)
        ]
    finally:
        second.stop(signal.SIGKILL)


def test_an_ipv6_hitlist_becomes_measured_targets_and_bad_lines_are_named(tmp_path: Path) -> None:
    dataset = tmp_path / "asn.tsv"
    dataset.write_text(DATASET + "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64500\tKZ\tKAZ-ONE\n")
    handle = start_collector(tmp_path / "collector", "--round-seconds", ROUND_S, "--asn-db", str(dataset))
    try:
        path = tmp_path / "ipv6.txt"
        path.write_text(
            "2001:db8::1\nnot-an-address\n2001:db8:1::2  # comment\n2001:db9::1\n", encoding="utf-8"
        )
        done = import_hitlist(handle, path)
        assert done.returncode == 1  # two bad lines, named; the good ones are kept
        assert f"{path}:2:" in done.stderr and f"{path}:4: no AS holds this address" in done.stderr
        assert "imported 2 address(es) into 2 block(s)" in done.stderr
        listed = admin(handle, "ListTargets", admin_service_pb2.ListTargetsRequest(source="discovery"))
        assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
        assert {(t.target, t.asn, t.country) for t in listed.targets} == {
            ("2001:db8::1", 64500, "KZ"),
            ("2001:db8:1::2", 64500, "KZ"),
        }
        probe = probe_at(handle, 64510, "NL")
        with handle.channel() as channel:  # an IPv6-capable probe is given them to measure
            stub = probe_service_pb2_grpc.ProbeServiceStub(channel)
            request = probe_service_pb2.GetWorkRequest(
                capabilities=probe_service_pb2.ProbeCapabilities(icmp=True, ipv6=True)
            )
            plan = stub.GetWork(request, metadata=bearer_metadata(probe.credential), timeout=30)
        assert {"2001:db8::1", "2001:db8:1::2"} <= {t.target.address for t in plan.tasks}
        # Selection over the same AS's IPv4 histories (an ISI import) leaves them in place.
        isi = tmp_path / "hitlist.fsdb"
        isi.write_text(ISI_HITLIST, encoding="utf-8")
        import_hitlist(handle, isi, "--min-score", "20")
        listed = admin(handle, "ListTargets", admin_service_pb2.ListTargetsRequest(source="discovery"))
        assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
        assert {"2001:db8::1", "2001:db8:1::2", "198.51.100.1"} <= {t.target for t in listed.targets}
    finally:
        handle.stop(signal.SIGKILL)


# ---------------------------------------------------------------- the CLI
def cli(collector: CollectorProcess, *args: str) -> subprocess.CompletedProcess[str]:
    connection = ("--collector", collector.address, "--plaintext")
    admin_args = (*connection, "--data-dir", str(collector.data_dir))
    extra = connection if args[0] == "coverage" else admin_args
    return subprocess.run([*VANTAGE, *args, *extra], capture_output=True, text=True, timeout=60)


def test_the_discover_list_cancel_and_coverage_commands(collector: CollectorProcess) -> None:
    import json

    bad = cli(collector, "collector", "targets", "discover", "--country", "XX")
    assert bad.returncode == 1 and "country 'XX' is not in the loaded datasets" in bad.stderr
    started = cli(
        collector, "collector", "targets", "discover", "--country", "KZ", "--census-period", "90s", "--json"
    )
    assert started.returncode == 0, started.stderr
    campaign = json.loads(started.stdout)
    assert campaign["countries"] == ["KZ"] and campaign["blocks_total"] == "2"  # uint64: a JSON string
    listed = cli(collector, "collector", "targets", "discover", "--list")
    assert (
        listed.returncode == 0 and f"{campaign['id']}  KZ  active  blocks 0/2  responders 0" in listed.stdout
    )
    coverage = cli(collector, "coverage", "--country", "KZ", "--json")
    assert coverage.returncode == 0, coverage.stderr
    rows = json.loads(coverage.stdout)["ases"]
    assert sorted(row["asn"] for row in rows) == [64500, 64501]
    assert all(row.get("analysable", False) is False and row["reason"] for row in rows)
    table = cli(collector, "coverage")
    assert "AS64500" in table.stdout and "KZ: 0% of 512 addresses analysable" in table.stdout
    cancelled = cli(collector, "collector", "targets", "discover", "--cancel", campaign["id"])
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout
    assert cli(collector, "collector", "targets", "discover").returncode == 2  # neither scope nor --list


def test_sighup_reloads_the_exclusion_list_and_a_bad_file_keeps_the_one_in_force(tmp_path: Path) -> None:
    # The signal, through a real collector process: its log says what is in force.
    exclude = tmp_path / "blocklist.conf"
    exclude.write_text("198.51.100.0/24\n", encoding="utf-8")
    handle = start(tmp_path, "--exclude", str(exclude))
    try:
        deadline = time.monotonic() + DEADLINE_S

        def logged(text: str, after: int) -> bool:
            return any(text in line for line in handle.lines[after:])

        def signal_and_wait(text: str) -> None:
            seen = len(handle.lines)
            handle.process.send_signal(signal.SIGHUP)
            while not logged(text, seen):  # handled asynchronously; polled, bounded
                assert time.monotonic() < deadline, "".join(handle.lines)
                time.sleep(0.2)

        exclude.write_text("203.0.113.0/24\n192.0.2.128/25\n", encoding="utf-8")
        signal_and_wait("address policy in force: 2 excluded network(s)")
        exclude.write_text("203.0.113.0/24\nnot-a-network\n", encoding="utf-8")
        signal_and_wait("exclusion list not reloaded")
        assert any(f"{exclude}:2" in line for line in handle.lines)
        assert handle.process.poll() is None
    finally:
        handle.stop(signal.SIGKILL)
    # What the plans hold after each reload: the same reload (server.reload_guard, what SIGHUP
    # calls) in process, with the clock set to rounds in which both blocks have census slots.
    exclude.write_text("198.51.100.0/24\n", encoding="utf-8")
    setup = InProcess(tmp_path / "in-process", exclude=exclude)
    probes = [setup.probe(f"nl-{n}", 64510, "NL") for n in range(2)]
    setup.start_campaign(countries=["KZ"])
    rounds = iter(setup.rounds_with_slots(3))

    def censused_blocks() -> set[str]:
        round_number = next(rounds)
        return {t.target.target_id for p in probes for t in setup.census(p, round_number)}

    assert censused_blocks() == {"block:203.0.113.0/24"}
    exclude.write_text("203.0.113.0/24\n", encoding="utf-8")
    reload_guard(setup.app)
    assert censused_blocks() == {"block:198.51.100.0/24"}
    exclude.write_text("203.0.113.0/24\nnot-a-network\n", encoding="utf-8")
    reload_guard(setup.app)  # logs the error, keeps the policy
    assert censused_blocks() == {"block:198.51.100.0/24"}  # the previous list stays in force


def test_a_removed_discovered_target_stays_removed(collector: CollectorProcess, tmp_path: Path) -> None:
    path = tmp_path / "hitlist.fsdb"
    path.write_text(ISI_HITLIST, encoding="utf-8")
    assert import_hitlist(collector, path, "--min-score", "20").returncode == 1  # two bad lines
    removed = admin(
        collector, "RemoveTargets", admin_service_pb2.RemoveTargetsRequest(targets=["198.51.100.2"])
    )
    assert isinstance(removed, admin_service_pb2.RemoveTargetsResponse) and removed.removed == 1
    import_hitlist(collector, path, "--min-score", "20")  # selection runs again over the same histories
    listed = admin(collector, "ListTargets", admin_service_pb2.ListTargetsRequest(source="discovery"))
    assert isinstance(listed, admin_service_pb2.ListTargetsResponse)
    assert {t.target for t in listed.targets} == {"198.51.100.1", "203.0.113.7"}


def test_a_shutdown_does_not_retire_the_targets_of_its_as(tmp_path: Path) -> None:
    from vantage.collector.discovery.history import BlockHistory
    from vantage.collector.storage.records import (
        BlockHistoryRecord,
        RoundRecord,
        RoundResult,
        StoredAsVerdict,
    )
    from vantage.collector.verdict.model import Status

    setup = InProcess(tmp_path)
    setup.start_campaign(asns=[64500])
    storage, discovery = setup.storage, setup.app.discovery
    block = int(KZ_BLOCKS[0].network_address) >> 8

    def histories(bitmap_of: dict[int, int], epoch: int) -> None:
        history = BlockHistory(block, epoch, tuple(h << 16 | b for h, b in sorted(bitmap_of.items())))
        row = BlockHistoryRecord(str(KZ_BLOCKS[0]), epoch, history.to_blob(), 64500, "KZ", setup.clock.now)
        storage.store_blocks([row])

    def verdict(round_number: int, status: Status) -> None:
        record = RoundRecord(round_number, round_number * 2.0, 2.0, "test", 0.0, computed_at_unix_s=1.0)
        as_verdict = StoredAsVerdict(
            round_number, round_number * 2.0, 64500, "KZ", int(status), 1.0, 1.0, 0.0, b""
        )
        storage.store_round_result(RoundResult(record, (as_verdict,), (), ()))

    def targets() -> set[str]:
        return {t.address for t in storage.list_targets() if t.source == "discovery"}

    histories({1: 0xFFFF, 2: 0xFFFF, 3: 0xFFFF}, 10)
    discovery.refresh_targets(setup.clock.now)
    before = targets()
    assert len(before) == 2
    # The shutdown: the whole block silent for three censuses, while the verdict says DOWN.
    histories({1: 0xFFF8, 2: 0xFFF8, 3: 0xFFF8}, 13)
    verdict(FIRST_ROUND + 1, Status.DOWN)
    discovery.refresh_targets(setup.clock.now)
    assert targets() == before
    verdict(FIRST_ROUND + 2, Status.UNKNOWN)
    discovery.refresh_targets(setup.clock.now)
    assert targets() == before
    # The AS is UP again but these addresses stay silent: now they are dead targets, retired.
    verdict(FIRST_ROUND + 3, Status.UP)
    discovery.refresh_targets(setup.clock.now)
    assert targets() == set()
