"""Leader election, takeover, fencing, catch-up and event relay on one real PostgreSQL schema.

Two PostgresStorage objects on one schema stand for two collectors. A dead
leader is made by terminating its leader session on the server (what a kill -9
of its process does to the session); the process-level version of this is in
test_collectors.py. Clocks are injected: nothing waits for a real round.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from tests.collector.batches import MeasurementRow, batch_of
from tests.scaleout.pg import (
    ScratchPostgresStorage,
    create_schema,
    drop_schema,
    postgres_dsn,
    require_server,
    with_search_path,
)
from vantage.collector.service.app import CollectorApp
from vantage.collector.service.config import CollectorConfig
from vantage.collector.service.locator import Locator
from vantage.collector.service.round_loop import RoundLoop
from vantage.collector.storage.base import StorageError
from vantage.collector.storage.postgres import PostgresStorage, migrations
from vantage.collector.storage.postgres_leader import LOCK_CLASS
from vantage.collector.storage.records import (
    EnrollmentToken,
    ProbeRecord,
    RoundRecord,
    RoundResult,
    TargetRecord,
    TokenStatus,
)
from vantage.v1 import query_service_pb2

pytestmark = pytest.mark.postgres

ROUND_S = 300.0
FIRST_ROUND = 5_892_000  # a round in January 2026
KZ_TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
NL_TARGETS = ("198.51.100.1", "198.51.100.2", "198.51.100.3")
PROBES = {"p-a": (64601, "DE"), "p-b": (64602, "FR"), "p-c": (64603, "SE")}


@pytest.fixture
def pair() -> Iterator[tuple[PostgresStorage, PostgresStorage]]:
    """Two collectors' storages on one scratch schema (the first one owns and drops it)."""
    require_server()
    first = ScratchPostgresStorage(pool_min=1, pool_max=4)
    second = PostgresStorage(with_search_path(postgres_dsn(), first.scratch_schema), pool_min=1, pool_max=4)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


@dataclass
class RevisingCluster:
    """Two collectors on `pair` (a computes first, so it leads), the probes enrolled and the KZ
    and NL targets imported, one clock: the leadership and revision tests' common ground."""

    a: PostgresStorage
    b: PostgresStorage
    clock: Clock
    apps: list[CollectorApp]
    leader_loop: RoundLoop
    follower_loop: RoundLoop

    @staticmethod
    def rows(probe_id: str, number: int) -> list[MeasurementRow]:
        """A probe's results of a round: the KZ targets fail from round +3 on."""
        down = number >= FIRST_ROUND + 3
        return [
            measurement(probe_id, number, address, failing=down and address in KZ_TARGETS)
            for address in KZ_TARGETS + NL_TARGETS
        ]


@pytest.fixture
def cluster(pair: tuple[PostgresStorage, PostgresStorage]) -> Iterator[RevisingCluster]:
    pytest.importorskip("vantage.collector.verdict.engine")
    a, b = pair
    enroll_probes(a)
    a.upsert_targets(
        [
            TargetRecord(address, address, "address", (1,), country, asn, (), "csv", address, 0.0)
            for targets, asn, country in ((KZ_TARGETS, 64500, "KZ"), (NL_TARGETS, 64520, "NL"))
            for address in targets
        ]
    )
    clock = Clock(FIRST_ROUND * ROUND_S)
    apps = [
        CollectorApp(s, CollectorConfig(collector_id=name, round_seconds=ROUND_S), Locator(()), clock=clock)
        for s, name in ((a, "a"), (b, "b"))
    ]
    try:
        yield RevisingCluster(a, b, clock, apps, RoundLoop(apps[0]), RoundLoop(apps[1]))
    finally:
        for app in apps:
            app.close()


def claim(number: int, by: str) -> RoundRecord:
    return RoundRecord(number, number * ROUND_S, ROUND_S, by, number * ROUND_S + 330)


def computed(number: int, by: str) -> RoundResult:
    start = number * ROUND_S
    record = RoundRecord(number, start, ROUND_S, by, start + 330, computed_at_unix_s=start + 331)
    return RoundResult(round=record, as_verdicts=(), country_verdicts=(), events=(), engine_state=b"s")


def kill_leader_session(storage: PostgresStorage) -> None:
    """What a kill -9 of the leader's process does on the server: its session ends."""
    lock_class, key = storage.leader.key
    with psycopg.connect(postgres_dsn(), autocommit=True) as admin:
        row = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = %s::bigint::oid AND objid = (%s::bigint & 4294967295)::oid AND granted",
            (lock_class, key),
        ).fetchone()
    assert row is not None and row[0], "no session held the leader lock"


def test_one_leader_claims_and_a_follower_takes_over_when_it_goes(
    pair: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = pair
    assert a.claim_round(claim(1, "a")) is True  # first to ask leads
    assert b.claim_round(claim(1, "b")) is False
    assert b.claim_round(claim(2, "b")) is False  # not the leader: claims nothing
    a.store_round_result(computed(1, "a"))
    a.leader.close()  # a graceful stop gives leadership up
    assert b.claim_round(claim(2, "b")) is True
    assert a.claim_round(claim(3, "a")) is False
    assert b.leader.key[0] == LOCK_CLASS


def test_a_round_left_uncomputed_is_taken_over_and_the_old_result_is_fenced(
    pair: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = pair
    assert a.claim_round(claim(5, "a")) is True
    kill_leader_session(a)  # a's session dies mid-round; a itself does not know yet
    assert b.claim_round(claim(5, "b")) is True  # taken over: never computed
    with pytest.raises(StorageError, match="taken over"):
        a.store_round_result(computed(5, "a"))  # the deposed leader's late result is refused
    b.store_round_result(computed(5, "b"))
    latest = b.latest_round()
    assert latest is not None and (latest.number, latest.computed_by) == (5, "b")
    assert a.claim_round(claim(5, "a")) is False  # a learns it is no longer the leader
    assert b.claim_round(claim(5, "b")) is False  # computed rounds are never claimed again


def test_a_batch_resent_to_another_collector_is_stored_once(
    pair: tuple[PostgresStorage, PostgresStorage],
) -> None:
    a, b = pair
    enroll_probes(a)
    rows = [measurement("p-a", FIRST_ROUND, "192.0.2.1", failing=False) for _ in range(300)]
    first = a.ingest(batch_of(rows))
    again = b.ingest(batch_of([*rows[100:], measurement("p-a", FIRST_ROUND, "192.0.2.2", failing=False)]))
    assert (first.accepted, first.duplicates) == (300, 0)
    assert (again.accepted, again.duplicates) == (1, 200)
    assert a.count_measurements() == b.count_measurements() == 301
    probe = b.get_probe("p-a")
    assert probe is not None and probe.results_received == 301


# ---------------------------------------------------------------- round loop: catch-up and relay


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def enroll_probes(storage: PostgresStorage) -> None:
    for n, (probe_id, (asn, country)) in enumerate(PROBES.items()):
        storage.add_enrollment_token(EnrollmentToken(f"t{n}", f"h{n}", "", 0.0, 1e12))
        record = ProbeRecord(probe_id, probe_id, f"c{n}", 0.0, pinned_asn=asn, pinned_country=country)
        assert storage.enroll_probe(f"h{n}", record, 0.0) is TokenStatus.OK


def measurement(probe_id: str, number: int, address: str, *, failing: bool) -> MeasurementRow:
    asn, country = PROBES[probe_id]
    return MeasurementRow(
        str(uuid.uuid4()), probe_id, number, "", address, address,
        64500 if address in KZ_TARGETS else 64520, asn, country, 1, 2 if failing else 1,
        "generic_timeout_error" if failing else "", None if failing else 20.0,
        1.0 if failing else 0.0, 0, "", 0, "",
        number * ROUND_S + 10, number * ROUND_S + 20, b"",
    )  # fmt: skip


def submit_round(storage: PostgresStorage, number: int, *, kz_down: bool) -> None:
    for probe_id in PROBES:
        storage.ingest(
            batch_of(
                [
                    measurement(probe_id, number, address, failing=kz_down and address in KZ_TARGETS)
                    for address in KZ_TARGETS + NL_TARGETS
                ]
            )
        )


def test_a_new_leader_catches_up_and_followers_relay_events(cluster: RevisingCluster) -> None:
    a, b, clock, apps = cluster.a, cluster.b, cluster.clock, cluster.apps
    leader_loop, follower_loop = cluster.leader_loop, cluster.follower_loop

    async def scenario() -> list[query_service_pb2.Event]:
        watcher = apps[1].events.subscribe(country="KZ")
        last = FIRST_ROUND + 8
        for number in range(FIRST_ROUND, last + 1):
            submit_round(a, number, kz_down=number >= FIRST_ROUND + 4)
            clock.now = (number + 1.2) * ROUND_S
            if number < FIRST_ROUND + 6:
                await leader_loop.step()
            await follower_loop.step()  # not the leader: relays what the leader stored
            if number == FIRST_ROUND + 6:
                kill_leader_session(a)  # the leader dies before computing round +6
            await follower_loop.step()  # a poll between rounds
        seen = []
        while not watcher.queue.empty():
            item = watcher.queue.get_nowait()
            assert item is not None
            seen.append(query_service_pb2.Event.FromString(item.payload))
        return seen

    events = asyncio.run(scenario())
    with psycopg.connect(with_search_path(postgres_dsn(), a.schema)) as conn:
        rounds = conn.execute(
            "SELECT number, computed_by, computed_at IS NOT NULL FROM rounds ORDER BY number"
        )
        table = [(n - FIRST_ROUND, by, done) for n, by, done in rounds.fetchall()]
    # Every round computed exactly once, none skipped; b took over with the rounds a left undone.
    assert table == [(n, "a", True) for n in range(6)] + [(n, "b", True) for n in (6, 7, 8)]
    # The follower's watcher saw the outage event of rounds the leader computed.
    outage = [e for e in events if e.kind == query_service_pb2.EVENT_KIND_OUTAGE and e.asn == 64500]
    assert outage, f"no outage relayed to the follower's watcher: {events}"
    latest = b.latest_as_verdict(64500)
    assert latest is not None and latest.round == FIRST_ROUND + 8


def test_collectors_starting_together_migrate_once() -> None:
    require_server()
    schema = create_schema("migrate_")
    opened: list[PostgresStorage] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresStorage(with_search_path(postgres_dsn(), schema), pool_min=1, pool_max=2))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [] and len(opened) == 4
        # The newest migration's number (numbers may skip one that another branch holds).
        assert {storage.schema_version() for storage in opened} == {migrations()[-1][0]}
        with psycopg.connect(with_search_path(postgres_dsn(), schema)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (len(migrations()),)
    finally:
        for storage in opened:
            storage.close()
        drop_schema(schema)


def test_a_revision_is_computed_once_by_the_leader_and_served_by_every_collector(
    cluster: RevisingCluster,
) -> None:
    """Probe p-c's results of rounds +3..+5 arrive after +6: the leader (a) recomputes them once;
    the follower (b) computes nothing, may store no revision, and serves the leader's."""
    from vantage.collector.service.timeline_revisions import shown_points
    from vantage.collector.storage.records import RevisionRecord

    a, b, clock, apps = cluster.a, cluster.b, cluster.clock, cluster.apps
    leader_loop, follower_loop, rows = cluster.leader_loop, cluster.follower_loop, cluster.rows
    held = range(FIRST_ROUND + 3, FIRST_ROUND + 6)

    async def scenario() -> None:
        for number in range(FIRST_ROUND, FIRST_ROUND + 8):
            for probe_id in PROBES:
                if not (probe_id == "p-c" and number in held):
                    a.ingest(batch_of(rows(probe_id, number)))
            clock.now = (number + 1.2) * ROUND_S
            await leader_loop.step()
            await follower_loop.step()
            if number == FIRST_ROUND + 6:
                for late in held:  # p-c's outbox drains, through the follower
                    b.ingest(batch_of([r._replace(received_at_unix_s=clock.now) for r in rows("p-c", late)]))
                clock.now += 1
                await follower_loop.step()  # not the round holder: revises nothing
                assert b.round_revisions(0, 2**62) == []
                await leader_loop.step()  # the round holder revises

    asyncio.run(scenario())
    revisions = {r.round - FIRST_ROUND: r for r in a.round_revisions(0, 2**62)}
    # +3..+6 recomputed once each (+3..+5 with p-c's 6 results each), all by the leader.
    assert sorted(revisions) == [3, 4, 5, 6]
    assert {r.revision for r in revisions.values()} == {1}
    assert {r.revised_by for r in revisions.values()} == {"a"}
    assert [revisions[n].late_results for n in (3, 4, 5, 6)] == [6, 6, 6, 0]
    # Every collector serves the same revised timeline.
    since, until = FIRST_ROUND * ROUND_S, (FIRST_ROUND + 8) * ROUND_S
    served = [
        [(p.verdict, p.revision, p.late_results) for p in shown_points(app, "asn", 64500, since, until, None)]
        for app in apps
    ]
    assert served[0] == served[1] and len(served[0]) == 8
    # A follower may not store a revision (fenced by the leader's term).
    [(verdict, _, _)] = served[1][3:4]
    with pytest.raises(StorageError, match="not the leader"):
        b.store_revision(
            RoundResult(round=claim(verdict.round, "b"), as_verdicts=(), country_verdicts=(), events=()),
            RevisionRecord(verdict.round, 2, clock.now, clock.now, 0, 0, "b"),
        )


def test_followers_relay_what_a_revision_changed_to_their_watchers(
    cluster: RevisingCluster,
) -> None:
    """Probes p-b and p-c upload rounds +3..+5 after +6, through the follower: on time, one
    vantage point is not enough and AS64500's outage starts at +6; the leader's revision moves its
    start to +3. The follower's WatchEvents streams get the REVISED event as the leader's do."""
    a, b, clock, apps = cluster.a, cluster.b, cluster.clock, cluster.apps
    leader_loop, follower_loop, rows = cluster.leader_loop, cluster.follower_loop, cluster.rows
    held, late_probes = range(FIRST_ROUND + 3, FIRST_ROUND + 6), ("p-b", "p-c")
    watchers = [app.events.subscribe(country="KZ") for app in apps]

    async def scenario() -> None:
        for number in range(FIRST_ROUND, FIRST_ROUND + 8):
            for probe_id in PROBES:
                if not (probe_id in late_probes and number in held):
                    a.ingest(batch_of(rows(probe_id, number)))
            clock.now = (number + 1.2) * ROUND_S
            await leader_loop.step()
            await follower_loop.step()
            if number == FIRST_ROUND + 6:
                for late in held:
                    for probe_id in late_probes:
                        late_rows = [r._replace(received_at_unix_s=clock.now) for r in rows(probe_id, late)]
                        b.ingest(batch_of(late_rows))
                clock.now += 1
                await leader_loop.step()  # the round holder revises
                clock.now += 1
                await follower_loop.step()  # a poll: relays what the revision changed

    def changes(index: int) -> list[query_service_pb2.Event]:
        seen = []
        while not watchers[index].queue.empty():
            item = watchers[index].queue.get_nowait()
            assert item is not None
            message = query_service_pb2.Event.FromString(item.payload)
            if message.change != query_service_pb2.EVENT_CHANGE_UNSPECIFIED:
                seen.append(message)
        return seen

    asyncio.run(scenario())
    sent, relayed = changes(0), changes(1)
    [outage] = [e for e in a.list_events() if e.asn == 64500]
    assert outage.started_at_unix_s == (FIRST_ROUND + 3) * ROUND_S  # moved by the revision
    revised = [e for e in sent if e.change == query_service_pb2.EVENT_CHANGE_REVISED and e.asn == 64500]
    assert revised and revised[0].id == outage.event_id and revised[0].revised_round > 0
    assert relayed == sent  # the follower sent what the leader sent, once
    assert {by for _, by, _ in b.event_changes_after(0)} == {"a"}
