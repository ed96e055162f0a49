"""The storage contract: every backend must pass these tests.

Collected through tests/collector/storage/test_storage_contract.py, which supplies the
`storage` fixture parametrized over the backends (adding a backend = one
entry in its BACKENDS table). Times are fixed numbers: no clock is read.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid

import pytest

from tests.collector.batches import MeasurementRow, batch_of
from vantage.collector.storage.base import Storage, StorageError
from vantage.collector.storage.records import (
    DISCOVERY_SOURCE,
    BlockHistoryRecord,
    CampaignRecord,
    CredentialRole,
    EnrollmentToken,
    IssuedTarget,
    IssuedTask,
    LateBatch,
    ProbeContact,
    ProbeRecord,
    RevisionRecord,
    RoundMeasurement,
    RoundRecord,
    RoundResult,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    TargetRecord,
    TokenStatus,
)
from vantage.collector.wire.measurements import round_measurements

T0 = 1_767_600_000.0  # 2026-01-05 08:00 UTC


def round_of(storage: Storage, number: int) -> list[RoundMeasurement]:
    """The round's measurements as the round loop reads them."""
    return round_measurements(storage.round_batches(number), number, storage.task_kinds(number))


def token(
    secret_hash: str = "h1", *, expires: float = T0 + 3600, token_id: str | None = None
) -> EnrollmentToken:
    return EnrollmentToken(
        token_id=token_id or uuid.uuid4().hex[:16],
        token_hash=secret_hash,
        name="t",
        created_at_unix_s=T0,
        expires_at_unix_s=expires,
    )


def probe(probe_id: str = "p1", credential_hash: str = "c1", **extra: object) -> ProbeRecord:
    return ProbeRecord(
        probe_id=probe_id, name="n", credential_hash=credential_hash, enrolled_at_unix_s=T0, **extra
    )  # type: ignore[arg-type]


def enrolled(storage: Storage, probe_id: str = "p1", credential_hash: str = "c1") -> ProbeRecord:
    token_hash = f"tok-{probe_id}"
    storage.add_enrollment_token(token(token_hash))
    record = probe(probe_id, credential_hash)
    assert storage.enroll_probe(token_hash, record, T0) is TokenStatus.OK
    return record


def row(
    probe_id: str = "p1",
    *,
    measurement_id: str | None = None,
    round_number: int = 7,
    task_id: str = "",
    started: float = T0,
    outcome: int = 1,
) -> MeasurementRow:
    return MeasurementRow(
        measurement_id=measurement_id or str(uuid.uuid4()),
        probe_id=probe_id,
        round=round_number,
        task_id=task_id,
        target_id="t1",
        target_address="192.0.2.1",
        target_asn=64500,
        probe_asn=64501,
        probe_country="NL",
        protocol=1,
        outcome=outcome,
        failure="" if outcome == 1 else "generic_timeout_error",
        rtt_ms=12.5 if outcome == 1 else None,
        loss_ratio=0.0 if outcome == 1 else 1.0,
        status_code=0,
        body_sha256="",
        body_length=0,
        dns_answers="",
        started_at_unix_s=started,
        received_at_unix_s=started + 1,
        payload=b"\x0a\x01x",
    )


def target(name: str, **extra: object) -> TargetRecord:
    fields: dict[str, object] = dict(
        target_id=f"id-{name}",
        target=name,
        kind="address",
        protocols=(1,),
        country="",
        asn=0,
        tags=(),
        source="csv",
        address=name,
        added_at_unix_s=T0,
    )
    fields.update(extra)
    return TargetRecord(**fields)  # type: ignore[arg-type]


def round_record(number: int, *, by: str = "c-a", computed: bool = False) -> RoundRecord:
    return RoundRecord(
        number=number,
        start_unix_s=number * 300.0,
        length_s=300.0,
        computed_by=by,
        claimed_at_unix_s=number * 300.0 + 330,
        computed_at_unix_s=number * 300.0 + 331 if computed else None,
    )


def as_verdict(asn: int, round_number: int, *, country: str = "KZ", status: int = 1) -> StoredAsVerdict:
    return StoredAsVerdict(
        round=round_number,
        round_start_unix_s=round_number * 300.0,
        asn=asn,
        country=country,
        status=status,
        confidence=0.9,
        belief=0.95,
        reachability_ratio=0.8,
        payload=f"as{asn}r{round_number}".encode(),
    )


def country_verdict(country: str, round_number: int, status: int = 1) -> StoredCountryVerdict:
    return StoredCountryVerdict(
        round=round_number,
        round_start_unix_s=round_number * 300.0,
        country=country,
        status=status,
        confidence=0.8,
        reachability_ratio=0.7,
        payload=f"{country}r{round_number}".encode(),
    )


def event(
    event_id: str, *, asn: int = 64500, country: str = "KZ", start: float, end: float | None, rnd: int
) -> StoredEvent:
    return StoredEvent(
        event_id=event_id,
        kind=1,
        asn=asn,
        country=country,
        started_at_unix_s=start,
        ended_at_unix_s=end,
        opened_round=rnd,
        updated_round=rnd,
        payload=event_id.encode(),
    )


def result(
    number: int, *, as_verdicts=(), country_verdicts=(), events=(), state: bytes = b"s"
) -> RoundResult:  # type: ignore[no-untyped-def]
    return RoundResult(
        round=round_record(number, computed=True),
        as_verdicts=tuple(as_verdicts),
        country_verdicts=tuple(country_verdicts),
        events=tuple(events),
        engine_state=state,
    )


# ---------------------------------------------------------------- credentials


def test_credentials_have_roles(storage: Storage) -> None:
    assert storage.credential_role("x") is None
    storage.add_credential("a", CredentialRole.ADMIN, T0)
    storage.add_credential("r", CredentialRole.READER, T0)
    storage.add_credential("a", CredentialRole.ADMIN, T0 + 1)  # idempotent
    assert storage.credential_role("a") is CredentialRole.ADMIN
    assert storage.credential_role("r") is CredentialRole.READER


# ---------------------------------------------------------------- enrollment


def test_enrollment_token_is_one_time(storage: Storage) -> None:
    storage.add_enrollment_token(token("h"))
    assert storage.enroll_probe("h", probe("p1", "c1"), T0 + 1) is TokenStatus.OK
    assert storage.enroll_probe("h", probe("p2", "c2"), T0 + 2) is TokenStatus.USED
    assert storage.get_probe("p2") is None
    assert [p.probe_id for p in storage.list_probes()] == ["p1"]


def test_unknown_and_expired_tokens_create_nothing(storage: Storage) -> None:
    assert storage.enroll_probe("nope", probe("p1"), T0) is TokenStatus.UNKNOWN
    storage.add_enrollment_token(token("h", expires=T0 + 10))
    assert storage.enroll_probe("h", probe("p1"), T0 + 10) is TokenStatus.EXPIRED
    assert storage.list_probes() == []
    # An expired token stays expired; it was not consumed either.
    assert storage.enroll_probe("h", probe("p1"), T0 + 20) is TokenStatus.EXPIRED


def test_concurrent_enrollments_with_one_token_admit_one_probe(storage: Storage) -> None:
    storage.add_enrollment_token(token("h"))
    outcomes: list[TokenStatus] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        status = storage.enroll_probe("h", probe(f"p{n}", f"c{n}"), T0)
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s.value for s in outcomes) == sorted(["ok"] + ["used"] * 7)
    assert len(storage.list_probes()) == 1


# ---------------------------------------------------------------- probes


def test_probe_lookup_by_id_and_credential(storage: Storage) -> None:
    enrolled(storage, "p1", "c1")
    enrolled(storage, "p2", "c2")
    found = storage.probe_by_credential("c2")
    assert found is not None and found.probe_id == "p2"
    assert storage.probe_by_credential("zz") is None
    assert storage.get_probe("nope") is None


def test_contact_updates_location_and_keeps_unsaid_capabilities(storage: Storage) -> None:
    enrolled(storage)
    storage.record_contact(
        ProbeContact(
            "p1", T0 + 5, "198.51.100.7", 64501, "NL", "1.0", capability_icmp=True, capability_ipv6=False
        )
    )
    storage.record_contact(ProbeContact("p1", T0 + 9, "198.51.100.8", 64502, "DE"))
    p = storage.get_probe("p1")
    assert p is not None
    assert (p.address, p.observed_asn, p.observed_country, p.asn, p.country) == (
        "198.51.100.8",
        64502,
        "DE",
        64502,
        "DE",
    )
    assert p.last_contact_unix_s == T0 + 9
    assert p.software_version == "1.0"
    assert p.capability_icmp is True and p.capability_ipv6 is False
    # An older contact arriving late does not move last contact backwards.
    storage.record_contact(ProbeContact("p1", T0 + 1, "198.51.100.8", 64502, "DE"))
    again = storage.get_probe("p1")
    assert again is not None and again.last_contact_unix_s == T0 + 9
    storage.record_contact(ProbeContact("ghost", T0, "192.0.2.9", 1, "ZZ"))  # unknown probe: ignored
    assert storage.get_probe("ghost") is None


def test_revoke_is_idempotent_and_keeps_the_first_time(storage: Storage) -> None:
    enrolled(storage)
    first = storage.revoke_probe("p1", T0 + 100)
    second = storage.revoke_probe("p1", T0 + 200)
    assert first is not None and second is not None
    assert first.revoked and second.revoked_at_unix_s == T0 + 100
    assert storage.revoke_probe("nope", T0) is None


def test_pin_overrides_and_clears(storage: Storage) -> None:
    enrolled(storage)
    storage.record_contact(ProbeContact("p1", T0, "198.51.100.7", 64501, "NL"))
    pinned = storage.pin_probe("p1", 64999, "KZ")
    assert pinned is not None and (pinned.asn, pinned.country) == (64999, "KZ")
    assert (pinned.observed_asn, pinned.observed_country) == (64501, "NL")
    cleared = storage.pin_probe("p1", 0, "")
    assert cleared is not None and (cleared.asn, cleared.country) == (64501, "NL")
    assert storage.pin_probe("nope", 1, "NL") is None


# ---------------------------------------------------------------- targets


def test_targets_upsert_merge_list_remove(storage: Storage) -> None:
    counts = storage.upsert_targets([target("192.0.2.1"), target("192.0.2.2", country="NL")])
    assert (counts.imported, counts.updated) == (2, 0)
    counts = storage.upsert_targets(
        [target("192.0.2.1", protocols=(4,), tags=("port:443",), asn=64500, added_at_unix_s=T0 + 50)]
    )
    assert (counts.imported, counts.updated) == (0, 1)
    by_id = {t.target_id: t for t in storage.list_targets()}
    merged = by_id["id-192.0.2.1"]
    assert merged.protocols == (1, 4)
    assert merged.tags == ("port:443",)
    assert merged.asn == 64500
    assert merged.added_at_unix_s == T0
    assert by_id["id-192.0.2.2"].country == "NL"
    assert [t.target_id for t in storage.list_targets()] == sorted(by_id)
    # Re-import without country/asn keeps what was known.
    storage.upsert_targets([target("192.0.2.2")])
    assert {t.target_id: t for t in storage.list_targets()}["id-192.0.2.2"].country == "NL"
    assert storage.remove_targets(["id-192.0.2.1", "192.0.2.2", "nothing"]) == 2
    assert storage.list_targets() == []


# ---------------------------------------------------------------- ingest


def test_ingest_is_idempotent_on_measurement_id(storage: Storage) -> None:
    enrolled(storage)
    rows = [row() for _ in range(20)]
    first = storage.ingest(batch_of(rows))
    assert (first.accepted, first.duplicates) == (20, 0)
    again = storage.ingest(batch_of(rows[:5] + [row() for _ in range(3)]))
    assert (again.accepted, again.duplicates) == (3, 5)
    assert storage.count_measurements() == 23
    p = storage.get_probe("p1")
    assert p is not None and p.results_received == 23
    assert storage.stored_measurement_ids([r.measurement_id for r in rows] + ["x"]) == {
        r.measurement_id for r in rows
    }


def test_duplicates_within_one_batch_count_once(storage: Storage) -> None:
    enrolled(storage)
    one = row()
    counts = storage.ingest(batch_of([one, one, one]))
    assert (counts.accepted, counts.duplicates) == (1, 2)
    assert storage.ingest(batch_of([])).accepted == 0


def test_concurrent_ingest_of_the_same_rows_stores_each_once(storage: Storage) -> None:
    enrolled(storage)
    rows = [row() for _ in range(200)]
    accepted: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        counts = storage.ingest(batch_of(rows))
        with lock:
            accepted.append(counts.accepted)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(accepted) == 200
    assert storage.count_measurements() == 200


def test_round_measurements_carry_the_task_kind(storage: Storage) -> None:
    enrolled(storage)
    storage.record_tasks([IssuedTask("task-a", 7, "p1", "t1", kind=2, protocol=1)])
    storage.record_tasks([IssuedTask("task-a", 7, "p1", "t1", kind=2, protocol=1)])  # idempotent
    a = row(task_id="task-a", measurement_id="00000000-0000-4000-8000-000000000001")
    b = row(task_id="unknown", measurement_id="00000000-0000-4000-8000-000000000002", outcome=2)
    storage.ingest(batch_of([a, b, row(round_number=8)]))
    got = round_of(storage, 7)
    assert [(m.measurement_id, m.kind) for m in got] == [(a.measurement_id, 2), (b.measurement_id, 0)]
    assert got[1].failure == "generic_timeout_error" and got[1].rtt_ms is None
    assert (got[0].target_asn, got[0].probe_asn, got[0].probe_country, got[0].rtt_ms) == (
        64500,
        64501,
        "NL",
        12.5,
    )
    assert round_of(storage, 99) == []


def test_issued_task_targets_are_those_of_the_asking_probe(storage: Storage) -> None:
    enrolled(storage)
    storage.record_tasks(
        [
            IssuedTask("r7-a", 7, "p1", "t1", kind=1, protocol=1, address="192.0.2.1"),
            IssuedTask("r8-b", 8, "p1", "t2", kind=1, protocol=4, address="2001:db8::2"),
            IssuedTask("r7-c", 7, "p2", "t1", kind=1, protocol=1, address="192.0.2.1"),
            IssuedTask("r7-d", 7, "p1", "t3", kind=1, protocol=3),  # HTTP by name: no address
        ]
    )
    assert storage.issued_task_targets("p1", {"r7-a", "r8-b", "r7-c", "r7-d", "never"}) == {
        "r7-a": IssuedTarget(7, 1, "t1", "192.0.2.1"),
        "r8-b": IssuedTarget(8, 4, "t2", "2001:db8::2"),
        "r7-d": IssuedTarget(7, 3, "t3", ""),
    }
    assert storage.issued_task_targets("p2", ["r7-a", "r7-c"]) == {
        "r7-c": IssuedTarget(7, 1, "t1", "192.0.2.1")
    }
    assert storage.issued_task_targets("p1", []) == {}
    many = [IssuedTask(f"r9-{n:04x}", 9, "p1", "t1", kind=1, protocol=1) for n in range(1200)]
    storage.record_tasks(many)  # more ids than one IN list holds
    found = storage.issued_task_targets("p1", [t.task_id for t in many])
    assert len(found) == 1200 and {t.round for t in found.values()} == {9}


def test_a_batch_with_duplicates_stores_only_its_new_results(storage: Storage) -> None:
    enrolled(storage)
    seen = [row(round_number=7) for _ in range(3)]
    storage.ingest(batch_of(seen))
    fresh = [row(round_number=7) for _ in range(2)]
    counts = storage.ingest(batch_of([seen[0], fresh[0], seen[1], fresh[1], fresh[1]]))
    assert (counts.accepted, counts.duplicates) == (2, 3)
    ids = [m.measurement_id for m in round_of(storage, 7)]
    assert sorted(ids) == sorted(r.measurement_id for r in seen + fresh)  # each once
    assert storage.count_measurements() == 5
    only_duplicates = storage.ingest(batch_of(seen))
    assert (only_duplicates.accepted, only_duplicates.duplicates) == (0, 3)
    assert len(storage.result_batches()) == 2  # a batch of nothing new stores no row


def test_a_batch_spanning_rounds_is_read_by_each(storage: Storage) -> None:
    enrolled(storage)
    storage.ingest(batch_of([row(round_number=7), row(round_number=9), row(round_number=7)]))
    assert len(round_of(storage, 7)) == 2 and len(round_of(storage, 9)) == 1
    assert round_of(storage, 8) == []
    assert [b.rounds for b in storage.round_batches(9)] == [(7, 9)]


def test_retention_forgets_only_the_ids_a_batch_stored(storage: Storage) -> None:
    enrolled(storage)
    kept = row(started=T0 + 1000)
    storage.ingest(batch_of([kept]))
    # An old batch repeating `kept`: its copy is a skipped duplicate, not its own id.
    storage.ingest(batch_of([row(started=T0 - 1000), kept._replace(started_at_unix_s=T0 - 900)]))
    assert storage.delete_measurements_before(T0) == 1
    assert storage.stored_measurement_ids([kept.measurement_id]) == {kept.measurement_id}
    assert storage.ingest(batch_of([kept])).duplicates == 1


def test_retention_drops_old_raw_results_only(storage: Storage) -> None:
    enrolled(storage)
    old = [row(started=T0 - 1000) for _ in range(3)]
    new = [row(started=T0 + 1000) for _ in range(2)]
    storage.ingest(batch_of(old))
    storage.ingest(batch_of(new))
    storage.store_round_result(result(1, as_verdicts=[as_verdict(64500, 1)]))
    assert storage.delete_measurements_before(T0) == 3
    assert storage.count_measurements() == 2
    assert storage.latest_as_verdict(64500) is not None


# ---------------------------------------------------------------- rounds and verdicts


def test_round_is_claimed_exactly_once(storage: Storage) -> None:
    assert storage.claim_round(round_record(5, by="a")) is True
    assert storage.claim_round(round_record(5, by="b")) is False
    assert storage.latest_round() is None  # claimed, not computed
    storage.store_round_result(result(5))
    latest = storage.latest_round()
    assert latest is not None and latest.number == 5 and latest.computed_at_unix_s is not None
    assert storage.claim_round(round_record(5, by="c")) is False


def test_concurrent_claims_admit_one(storage: Storage) -> None:
    wins: list[bool] = []
    lock = threading.Lock()

    def claim(name: str) -> None:
        won = storage.claim_round(round_record(9, by=name))
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=claim, args=(f"c{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_round_result_round_trip(storage: Storage) -> None:
    storage.claim_round(round_record(3))
    stored = RoundResult(
        round=RoundRecord(
            number=3,
            start_unix_s=900.0,
            length_s=300.0,
            computed_by="c-a",
            claimed_at_unix_s=1230.0,
            computed_at_unix_s=1231.0,
            observations=42,
            suspect_probes=("p9",),
            offline_probes=("p8",),
            algorithm_version="v1",
        ),
        as_verdicts=(as_verdict(64500, 3),),
        country_verdicts=(country_verdict("KZ", 3),),
        events=(),
        engine_state=b"state-3",
    )
    storage.store_round_result(stored)
    assert storage.latest_round() == stored.round
    assert storage.load_engine_state() == b"state-3"
    assert storage.latest_as_verdict(64500) == stored.as_verdicts[0]
    assert storage.latest_country_verdict("KZ") == stored.country_verdicts[0]
    assert storage.latest_country_verdicts() == [stored.country_verdicts[0]]


def test_latest_verdicts_filter_and_page(storage: Storage) -> None:
    assert storage.load_engine_state() is None
    storage.store_round_result(
        result(
            1,
            as_verdicts=[
                as_verdict(a, 1, country="KZ" if a % 2 else "NL", status=3 if a == 5 else 1)
                for a in range(1, 8)
            ],
            state=b"one",
        )
    )
    storage.store_round_result(result(2, as_verdicts=[as_verdict(3, 2, status=2)], state=b"two"))
    assert [v.asn for v in storage.latest_as_verdicts(limit=3)] == [1, 2, 3]
    assert [v.asn for v in storage.latest_as_verdicts(after_asn=3, limit=3)] == [4, 5, 6]
    assert [v.asn for v in storage.latest_as_verdicts(country="KZ")] == [1, 3, 5, 7]
    assert [v.asn for v in storage.latest_as_verdicts(statuses=[2, 3])] == [3, 5]
    latest3 = storage.latest_as_verdict(3)
    assert latest3 is not None and (latest3.round, latest3.status) == (2, 2)
    assert storage.latest_as_verdict(99) is None
    assert storage.load_engine_state() == b"two"


def test_an_older_round_stored_late_does_not_replace_newer_verdicts(storage: Storage) -> None:
    for number, status, state in ((10, 3, b"ten"), (9, 1, b"nine")):
        storage.store_round_result(
            result(
                number,
                as_verdicts=[as_verdict(1, number, status=status)],
                country_verdicts=[country_verdict("KZ", number, status)],
                state=state,
            )
        )
    latest = storage.latest_as_verdict(1)
    assert latest is not None and latest.round == 10
    latest_country = storage.latest_country_verdict("KZ")
    assert latest_country is not None and latest_country.round == 10
    assert storage.load_engine_state() == b"ten"
    assert [v.round for v in storage.as_timeline(1, 0, 1e12)] == [9, 10]


def rows_result(number: int, rows: dict[str, bytes | None]) -> RoundResult:
    return RoundResult(
        round=round_record(number, computed=True),
        as_verdicts=(),
        country_verdicts=(),
        events=(),
        engine_rows=tuple(rows.items()),
    )


def test_engine_state_rows_are_written_changed_rows_only_and_deleted(storage: Storage) -> None:
    assert storage.load_engine_rows() == {}
    storage.store_round_result(rows_result(1, {"meta": b"m1", "as:1": b"a1", "as:2": b"b1"}))
    assert storage.load_engine_rows() == {"meta": b"m1", "as:1": b"a1", "as:2": b"b1"}
    # Round 2 touched AS 2 only and forgot AS 1: AS 1's row goes, the others are as written.
    storage.store_round_result(rows_result(2, {"meta": b"m2", "as:1": None, "as:2": b"b2"}))
    assert storage.load_engine_rows() == {"meta": b"m2", "as:2": b"b2"}
    assert storage.load_engine_state() is None  # no blob given, none written


def test_an_older_round_stored_late_does_not_replace_newer_engine_rows(storage: Storage) -> None:
    storage.store_round_result(rows_result(10, {"meta": b"m10", "as:1": b"a10", "as:3": b"c10"}))
    storage.store_round_result(rows_result(9, {"meta": b"m9", "as:1": b"a9", "as:2": b"b9", "as:3": None}))
    assert storage.load_engine_rows() == {"meta": b"m10", "as:1": b"a10", "as:2": b"b9", "as:3": b"c10"}


def test_engine_state_rows_hold_large_binary_values(storage: Storage) -> None:
    blob = bytes(range(256)) * 4096  # 1 MiB, every byte value
    storage.store_round_result(rows_result(1, {"meta": b"m", "as:64500": blob}))
    assert storage.load_engine_rows()["as:64500"] == blob


def test_timelines_are_half_open_and_ordered(storage: Storage) -> None:
    for n in (1, 2, 3, 4):
        storage.store_round_result(
            result(n, as_verdicts=[as_verdict(64500, n)], country_verdicts=[country_verdict("KZ", n)])
        )
    assert [v.round for v in storage.as_timeline(64500, 600.0, 1200.0)] == [2, 3]
    assert [v.round for v in storage.country_timeline("KZ", 300.0, 1e12)] == [1, 2, 3, 4]
    assert storage.as_timeline(1, 0, 1e12) == []


def test_events_upsert_and_filter(storage: Storage) -> None:
    opened = event("e1", start=1000.0, end=None, rnd=3)
    storage.store_round_result(result(3, events=[opened, event("e2", asn=0, start=500.0, end=800.0, rnd=3)]))
    closed = event("e1", start=1000.0, end=2000.0, rnd=6)
    later = event("e3", asn=64501, country="NL", start=1500, end=None, rnd=6)
    storage.store_round_result(result(6, events=[closed, later]))
    assert [e.event_id for e in storage.list_events()] == ["e2", "e1", "e3"]
    assert {e.event_id: e for e in storage.list_events()}["e1"] == closed
    assert [e.event_id for e in storage.list_events(open_only=True)] == ["e3"]
    assert [e.event_id for e in storage.list_events(updated_round=6)] == ["e1", "e3"]
    assert [e.event_id for e in storage.list_events(asn=64500)] == ["e1"]
    assert [e.event_id for e in storage.list_events(country="KZ")] == ["e2", "e1"]
    assert [e.event_id for e in storage.list_events(asn=0, country="KZ")] == ["e2"]
    # Overlap with [900, 1200): e1 (1000-2000); e2 ended at 800; e3 starts at 1500.
    assert [e.event_id for e in storage.list_events(since_unix_s=900.0, until_unix_s=1200.0)] == ["e1"]
    assert [e.event_id for e in storage.list_events(since_unix_s=2500.0)] == ["e3"]


@pytest.mark.parametrize("count", [1, 1200])
def test_stored_ids_query_handles_large_sets(storage: Storage, count: int) -> None:
    enrolled(storage)
    rows = [row() for _ in range(count)]
    storage.ingest(batch_of(rows))
    assert storage.stored_measurement_ids([r.measurement_id for r in rows]) == {
        r.measurement_id for r in rows
    }


# ------------------------------------------------------------ target discovery
def campaign(campaign_id: str = "c1", **extra: object) -> CampaignRecord:
    fields: dict[str, object] = {
        "countries": ("KZ",),
        "asns": (64500, 64501),
        "census_period_s": 86400.0,
        "refresh_s": 604800.0,
        "created_at_unix_s": T0,
    }
    fields.update(extra)
    return CampaignRecord(campaign_id=campaign_id, **fields)  # type: ignore[arg-type]


def block(key: str, *, epoch: int = 3, asn: int = 64500, fill: int = 0) -> BlockHistoryRecord:
    history = fill.to_bytes(2, "little") * 256
    return BlockHistoryRecord(
        block=key, epoch=epoch, history=history, asn=asn, country="KZ", updated_at_unix_s=T0
    )


def test_campaigns_add_list_cancel(storage: Storage) -> None:
    storage.add_campaign(campaign("c2", created_at_unix_s=T0 + 1, countries=(), asns=(64502,)))
    storage.add_campaign(campaign("c1"))
    assert [c.campaign_id for c in storage.list_campaigns()] == ["c1", "c2"]
    assert storage.list_campaigns()[0] == campaign("c1")
    assert storage.list_campaigns()[1].countries == () and storage.list_campaigns()[1].asns == (64502,)
    with pytest.raises(StorageError):
        storage.add_campaign(campaign("c1"))
    cancelled = storage.cancel_campaign("c1", T0 + 10)
    assert cancelled is not None and cancelled.cancelled_at_unix_s == T0 + 10 and not cancelled.active
    again = storage.cancel_campaign("c1", T0 + 20)
    assert again is not None and again.cancelled_at_unix_s == T0 + 10  # the first time is kept
    assert storage.cancel_campaign("nope", T0) is None
    assert [c.active for c in storage.list_campaigns()] == [False, True]


def test_block_histories_store_replace_and_read(storage: Storage) -> None:
    storage.store_blocks([block("198.51.100.0/24", fill=1), block("203.0.113.0/24", asn=64501)])
    storage.store_blocks([block("198.51.100.0/24", epoch=4, fill=0xFFFF)])  # replaces
    found = storage.load_blocks(["198.51.100.0/24", "192.0.2.0/24"])
    assert set(found) == {"198.51.100.0/24"}
    assert found["198.51.100.0/24"] == block("198.51.100.0/24", epoch=4, fill=0xFFFF)
    assert len(found["198.51.100.0/24"].history) == 512
    assert [b.block for b in storage.list_blocks()] == ["198.51.100.0/24", "203.0.113.0/24"]
    assert [b.block for b in storage.list_blocks(asns=[64501])] == ["203.0.113.0/24"]
    assert storage.list_blocks(asns=[]) == []
    storage.store_blocks([])


def test_block_reads_handle_many_keys(storage: Storage) -> None:
    keys = [f"10.{n // 256}.{n % 256}.0/24" for n in range(1200)]
    storage.store_blocks([block(key) for key in keys])
    assert set(storage.load_blocks([*keys, "192.0.2.0/24"])) == set(keys)


def test_discovered_targets_never_replace_hand_imported_ones(storage: Storage) -> None:
    hand = target("192.0.2.1", source="csv")
    storage.upsert_targets([hand])
    found = target("192.0.2.1", source=DISCOVERY_SOURCE, tags=("discovery:block",))
    fresh = target("192.0.2.2", source=DISCOVERY_SOURCE)
    counts = storage.sync_discovered_targets([found, fresh], retire=())
    assert (counts.imported, counts.updated) == (1, 0)
    by_id = {t.target: t for t in storage.list_targets()}
    assert by_id["192.0.2.1"] == hand
    assert by_id["192.0.2.2"].source == DISCOVERY_SOURCE
    # Re-selection replaces a discovered target and keeps when it was first added.
    moved = target("192.0.2.2", source=DISCOVERY_SOURCE, asn=64999, added_at_unix_s=T0 + 50)
    counts = storage.sync_discovered_targets([moved], retire=())
    assert (counts.imported, counts.updated) == (0, 1)
    stored = {t.target: t for t in storage.list_targets()}["192.0.2.2"]
    assert stored.asn == 64999 and stored.added_at_unix_s == fresh.added_at_unix_s
    # Retiring removes discovered targets only.
    storage.sync_discovered_targets([], retire=[hand.target_id, fresh.target_id, "unknown"])
    assert [t.target for t in storage.list_targets()] == ["192.0.2.1"]


def test_a_removed_discovered_target_is_declined_and_never_added_again(storage: Storage) -> None:
    found = target("192.0.2.7", source=DISCOVERY_SOURCE)
    hand = target("192.0.2.8", source="csv")
    storage.upsert_targets([hand])
    storage.sync_discovered_targets([found], retire=())
    assert storage.remove_targets(["192.0.2.7", "192.0.2.8"]) == 2
    assert storage.declined_targets() == {"192.0.2.7"}  # the hand-imported one is simply gone
    counts = storage.sync_discovered_targets([found, target("192.0.2.8", source=DISCOVERY_SOURCE)], retire=())
    assert (counts.imported, counts.updated) == (1, 0)
    assert [t.target for t in storage.list_targets()] == ["192.0.2.8"]
    storage.upsert_targets([target("192.0.2.7", source="csv")])  # a hand import measures it again
    assert {t.target for t in storage.list_targets()} == {"192.0.2.7", "192.0.2.8"}


# ---------------------------------------------------------------- revisions (schema 5)


def revision(number: int, rev: int, at: float, *, late: int = 1, probes: int = 1) -> RevisionRecord:
    return RevisionRecord(number, rev, at, at - 1, late, probes, "c-a")


def computed_round(storage: Storage, number: int, rows: dict[str, bytes | None]) -> None:
    assert storage.claim_round(round_record(number))
    storage.store_round_result(rows_result(number, rows))


def test_engine_state_before_a_round_is_read_from_the_history(storage: Storage) -> None:
    computed_round(storage, 1, {"meta": b"m1", "as:1": b"a1", "as:2": b"b1"})
    computed_round(storage, 2, {"meta": b"m2", "as:1": None, "as:2": b"b2"})
    computed_round(storage, 3, {"meta": b"m3", "as:3": b"c3"})
    assert storage.load_engine_rows_before(1) == {}
    assert storage.load_engine_rows_before(2) == {"meta": b"m1", "as:1": b"a1", "as:2": b"b1"}
    assert storage.load_engine_rows_before(3) == {"meta": b"m2", "as:2": b"b2"}
    assert storage.load_engine_rows_before(4) == storage.load_engine_rows()
    # Folding rows older than round 3 keeps the state before round 3 readable.
    assert storage.prune_engine_history(3) == 3  # m1, a1 and b1 are replaced by round 2's rows
    assert storage.load_engine_rows_before(3) == {"meta": b"m2", "as:2": b"b2"}
    assert storage.load_engine_rows_before(4) == storage.load_engine_rows()


def test_a_revision_replaces_verdicts_and_keeps_the_superseded_ones(storage: Storage) -> None:
    first = rows_result(5, {"meta": b"m5"})
    assert storage.claim_round(round_record(5))
    storage.store_round_result(
        RoundResult(round=first.round, as_verdicts=(as_verdict(1, 5, status=1), as_verdict(2, 5)),
                    country_verdicts=(country_verdict("KZ", 5, status=1),),
                    events=(event("e-old", start=1500.0, end=None, rnd=5),), engine_rows=first.engine_rows)
    )  # fmt: skip
    computed_at = round_record(5, computed=True).computed_at_unix_s
    revised = RoundResult(
        round=round_record(5, computed=True),
        as_verdicts=(as_verdict(1, 5, status=3),),
        country_verdicts=(country_verdict("KZ", 5, status=3),),
        events=(event("e-new", start=1400.0, end=None, rnd=5),),
        engine_rows=(("meta", b"m5r"),),
    )
    storage.store_revision(
        revised, revision(5, 1, 5000.0, late=7, probes=2), withdrawn_events=["e-old"],
        engine_rows_now=[("meta", b"m5r")],
    )  # fmt: skip
    assert [v.status for v in storage.as_timeline(1, 0, 1e9)] == [3]
    assert storage.as_timeline(2, 0, 1e9) == []  # the revision has no verdict for AS 2
    assert [v.status for v in storage.country_timeline("KZ", 0, 1e9)] == [3]
    assert [e.event_id for e in storage.list_events()] == ["e-new"]
    assert storage.round_revisions(0, 10) == [revision(5, 1, 5000.0, late=7, probes=2)]
    assert storage.load_engine_rows() == {"meta": b"m5r"}
    assert storage.load_engine_rows_before(6) == {"meta": b"m5r"}
    old = storage.superseded_as_verdicts(1, 0, 1e9)
    assert [(s.verdict.status, s.revision, s.valid_from_unix_s, s.valid_until_unix_s) for s in old] == [
        (1, 0, computed_at, 5000.0)
    ]
    assert [s.verdict.asn for s in storage.superseded_as_verdicts(2, 0, 1e9)] == [2]
    [old_kz] = storage.superseded_country_verdicts("KZ", 0, 1e9)
    assert (old_kz.verdict.status, old_kz.revision) == (1, 0)
    # A second revision supersedes the first one from the time it was stored.
    assert storage.pending_revision() is None
    storage.store_revision(revised, revision(5, 2, 6000.0, late=9, probes=3), pending_round=6)
    assert storage.pending_revision() == 6
    spans = [
        (s.revision, s.valid_from_unix_s, s.valid_until_unix_s)
        for s in storage.superseded_as_verdicts(1, 0, 1e9)
    ]
    assert spans == [(0, computed_at, 5000.0), (1, 5000.0, 6000.0)]
    assert [r.number for r in storage.computed_rounds(0, 10)] == [5]


def test_late_batches_are_those_received_after_the_claim_or_the_last_revision(storage: Storage) -> None:
    enrolled(storage)
    assert storage.claim_round(round_record(7))
    on_time = storage.ingest(batch_of([row(round_number=7, started=2300.0)]))  # received 2301 < claim 2430
    assert on_time.accepted == 1
    storage.store_round_result(rows_result(7, {"meta": b"m"}))
    assert storage.late_batches(0) == []
    storage.ingest(batch_of([row(round_number=7, started=2999.0), row(round_number=8, started=2999.0)]))
    late = storage.late_batches(0)
    assert [(b.round, b.probe_id, b.received_at_unix_s) for b in late] == [
        (7, "p1", 3000.0)
    ]  # 8 never computed
    assert isinstance(late[0], LateBatch)
    assert storage.late_batches(8) == []  # below the window
    assert storage.late_batches(0, after_key=late[0].batch_key) == []  # looked at already
    storage.store_revision(rows_result(7, {"meta": b"m"}), revision(7, 1, 3100.0))  # read at 3099
    assert storage.late_batches(0) == []


def test_unrevisable_batches_are_too_old_or_of_rounds_never_computed(storage: Storage) -> None:
    enrolled(storage)
    computed_round(storage, 7, {"meta": b"m"})
    computed_round(storage, 9, {"meta": b"m"})
    assert storage.last_batch_key() == 0
    storage.ingest(batch_of([row(round_number=7, started=2999.0)]))  # revisable
    after = storage.last_batch_key()
    storage.ingest(batch_of([row(round_number=2, started=2999.0), row(round_number=8, started=2999.0)]))
    storage.ingest(batch_of([row(round_number=10, started=2999.0)]))  # the current round: not late
    found = storage.unrevisable_batches(0, oldest_round=5, latest_round=9)
    assert [(number, probe) for number, _, probe in found] == [(2, "p1"), (8, "p1")]
    assert storage.unrevisable_batches(storage.last_batch_key(), oldest_round=5, latest_round=9) == []
    assert all(key > after for _, key, _ in found)


def test_the_mechanism_is_stored_with_verdicts_timelines_and_events(storage: Storage) -> None:
    """Schema 6 (issue 17): vantage.collector.verdict.model.Mechanism next to each payload."""
    withdrawal, data_plane = 1, 2
    cut = dataclasses.replace(as_verdict(64500, 4, status=3), mechanism=withdrawal)
    country = dataclasses.replace(country_verdict("KZ", 4, status=3), mechanism=withdrawal)
    outage = dataclasses.replace(event("e9", start=1200.0, end=None, rnd=4), mechanism=data_plane)
    storage.store_round_result(result(4, as_verdicts=[cut], country_verdicts=[country], events=[outage]))
    storage.store_round_result(result(5, as_verdicts=[as_verdict(64500, 5)]))
    assert [v.mechanism for v in storage.as_timeline(64500, 0.0, 10_000.0)] == [withdrawal, 0]
    assert [c.mechanism for c in storage.country_timeline("KZ", 0.0, 10_000.0)] == [withdrawal]
    latest = storage.latest_country_verdict("KZ")
    assert latest is not None and latest.mechanism == withdrawal
    assert [(e.event_id, e.mechanism) for e in storage.list_events()] == [("e9", data_plane)]
    as_latest = storage.latest_as_verdict(64500)
    assert as_latest is not None and as_latest.mechanism == 0


def test_a_superseded_verdict_keeps_its_mechanism(storage: Storage) -> None:
    """Schemas 5 and 6 together: a revision archives the mechanism with the verdict it replaces."""
    withdrawal = 1
    assert storage.claim_round(round_record(5))
    storage.store_round_result(
        RoundResult(
            round=round_record(5),
            as_verdicts=(dataclasses.replace(as_verdict(1, 5, status=3), mechanism=withdrawal),),
            country_verdicts=(dataclasses.replace(country_verdict("KZ", 5, status=3), mechanism=withdrawal),),
            events=(),
            engine_rows=(("meta", b"m5"),),
        )
    )
    revised = RoundResult(
        round=round_record(5, computed=True),
        as_verdicts=(as_verdict(1, 5, status=1),),
        country_verdicts=(country_verdict("KZ", 5, status=1),),
        events=(),
        engine_rows=(("meta", b"m5r"),),
    )
    storage.store_revision(revised, revision(5, 1, 5000.0), engine_rows_now=[("meta", b"m5r")])
    [old_as] = storage.superseded_as_verdicts(1, 0, 1e9)
    [old_kz] = storage.superseded_country_verdicts("KZ", 0, 1e9)
    assert (old_as.verdict.mechanism, old_kz.verdict.mechanism) == (withdrawal, withdrawal)
    assert [v.mechanism for v in storage.as_timeline(1, 0, 1e9)] == [0]


def test_replaced_and_withdrawn_events_keep_their_versions_until_then(storage: Storage) -> None:
    """Schema 7: the version of an event each round (first computed or revised) replaced, or a
    revision withdrew, with the time until which it was the answer; a new event's version has an
    empty payload (not known before)."""
    opened = event("e1", start=1500.0, end=None, rnd=5)
    assert storage.claim_round(round_record(5))
    storage.store_round_result(dataclasses.replace(result(5), events=(opened,)))
    at5 = round_record(5, computed=True).computed_at_unix_s
    closed = dataclasses.replace(opened, ended_at_unix_s=1800.0, updated_round=6, payload=b"e1 closed")
    assert storage.claim_round(round_record(6))
    storage.store_round_result(dataclasses.replace(result(6), events=(closed,)))
    at6 = round_record(6, computed=True).computed_at_unix_s
    # Stored again unchanged: nothing new to keep.
    storage.store_revision(dataclasses.replace(result(6), events=(closed,)), revision(6, 1, 4000.0))
    found = event("e2", start=1600.0, end=1700.0, rnd=5)
    storage.store_revision(
        dataclasses.replace(result(5), events=(found,)), revision(5, 1, 5000.0), withdrawn_events=["e1"]
    )
    kept = storage.superseded_events(asn=64500, since_unix_s=0.0, until_unix_s=1e9)
    assert [(s.event.event_id, s.valid_until_unix_s, s.event.payload, s.unknown_before) for s in kept] == [
        ("e1", at5, b"", True),
        ("e1", at6, b"e1", False),
        ("e1", 5000.0, b"e1 closed", False),
        ("e2", 5000.0, b"", True),
    ]
    assert kept[2].event.ended_at_unix_s == 1800.0
    assert [e.event_id for e in storage.list_events()] == ["e2"]
    # Filtered like list_events: scope and overlap.
    assert storage.superseded_events(asn=64501, since_unix_s=0.0, until_unix_s=1e9) == []
    assert storage.superseded_events(asn=64500, country="RU", since_unix_s=0.0, until_unix_s=1e9) == []
    later = storage.superseded_events(asn=64500, since_unix_s=1750.0, until_unix_s=1e9)
    # e1's open versions and its closed one (ended 1800), not e2 (ended 1700).
    assert [(s.event.event_id, s.valid_until_unix_s) for s in later] == [
        ("e1", at5),
        ("e1", at6),
        ("e1", 5000.0),
    ]


def test_a_revisions_event_changes_are_kept_for_other_collectors_by_key(storage: Storage) -> None:
    assert storage.last_event_change_key() == 0 and storage.event_changes_after(0) == []
    assert storage.claim_round(round_record(5))
    storage.store_round_result(result(5))
    sent = [event("e1", start=1500.0, end=None, rnd=5), event("e2", start=1600.0, end=1700.0, rnd=5)]
    storage.store_revision(result(5), revision(5, 1, 5000.0), event_changes=sent)
    changes = storage.event_changes_after(0)
    assert [(by, e) for _, by, e in changes] == [("c-a", sent[0]), ("c-a", sent[1])]
    keys = [key for key, _, _ in changes]
    assert keys == sorted(keys) and storage.last_event_change_key() == keys[-1]
    assert [e.event_id for _, _, e in storage.event_changes_after(keys[0])] == ["e2"]
    assert storage.event_changes_after(keys[-1]) == []
    assert len(storage.event_changes_after(0, limit=1)) == 1


def test_event_changes_are_bounded_to_the_newest_and_keys_go_on(storage: Storage) -> None:
    assert storage.prune_event_changes(keep_last=2) == 0
    assert storage.claim_round(round_record(5))
    storage.store_round_result(result(5))
    sent = [event(f"e{n}", start=1500.0 + n, end=None, rnd=5) for n in range(5)]
    storage.store_revision(result(5), revision(5, 1, 5000.0), event_changes=sent)
    last = storage.last_event_change_key()
    assert storage.prune_event_changes(keep_last=2) == 3
    kept = storage.event_changes_after(0)
    assert [e.event_id for _, _, e in kept] == ["e3", "e4"] and kept[-1][0] == last
    assert storage.prune_event_changes(keep_last=2) == 0
    # A follower's cursor stays meaningful: the next change gets a key above every earlier one.
    storage.store_revision(
        result(5), revision(5, 2, 5100.0), event_changes=[event("e5", start=1600.0, end=None, rnd=5)]
    )
    assert [(k > last, e.event_id) for k, _, e in storage.event_changes_after(last)] == [(True, "e5")]
