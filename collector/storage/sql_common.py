"""What the two SQL backends (SQLite, PostgreSQL) share: column lists, statements, row mapping.

Statements are written once with SQLite's `?` placeholders; the PostgreSQL
backend turns them into psycopg's `%s` with `pyformat` (none of the shared
statements holds a literal `?` or `%`, so the translation is a plain
replace). Only SQL that both servers run with the same meaning lives here;
what differs (upsert spelling, row locks, array parameters) stays in the
backend modules.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from vantage.collector.storage.records import (
    BlockHistoryRecord,
    CampaignRecord,
    ProbeRecord,
    RoundRecord,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    TargetRecord,
)

Row = Sequence[Any]

# ------------------------------------------------------------ column lists (the SELECT order of the mappers)
PROBE_COLUMNS = (
    "probe_id, name, credential_hash, enrolled_at, observed_asn, observed_country, pinned_asn, "
    "pinned_country, address, last_contact, results_received, revoked_at, software_version, "
    "capability_icmp, capability_ipv6"
)
TARGET_COLUMNS = "target_id, target, kind, protocols, country, asn, tags, source, address, added_at"
AS_VERDICT_COLUMNS = (
    "round, round_start, asn, country, status, confidence, belief, reachability_ratio, payload, mechanism"
)
COUNTRY_VERDICT_COLUMNS = (
    "round, round_start, country, status, confidence, reachability_ratio, payload, mechanism"
)
EVENT_COLUMNS = (
    "event_id, kind, asn, country, started_at, ended_at, opened_round, updated_round, payload, mechanism"
)
# A version of an event a round replaced (schema 7), kept as the answer until valid_until.
ARCHIVE_EVENT = (
    f"INSERT INTO event_revisions (valid_until, {EVENT_COLUMNS}) VALUES ({', '.join('?' * 11)}) "
    "ON CONFLICT DO NOTHING"
)
ROUND_COLUMNS = (
    "number, start, length_s, computed_by, claimed_at, computed_at, observations, suspect_probes, "
    "offline_probes, algorithm_version"
)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def numbered_migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of every numbered migration file in migrations/<dialect>/, in order."""
    folder = resources.files("vantage.collector.storage").joinpath(f"migrations/{dialect}")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


@functools.cache
def pyformat(sql: str) -> str:
    """`?` → `%s` for psycopg; cached because the same few statements run again and again."""
    return sql.replace("?", "%s")


# ------------------------------------------------------------ statements both backends run as written
INSERT_CREDENTIAL = (
    "INSERT INTO credentials (credential_hash, role, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT (credential_hash) DO NOTHING"
)
INSERT_TOKEN = (
    "INSERT INTO enrollment_tokens (token_id, token_hash, name, created_at, expires_at, used_at, "
    f"used_by_probe) VALUES ({placeholders(7)})"
)
INSERT_PROBE = f"INSERT INTO probes ({PROBE_COLUMNS}) VALUES ({placeholders(15)})"
INSERT_TASK = (
    "INSERT INTO issued_tasks (task_id, round, probe_id, target_id, kind, protocol, address) "
    f"VALUES ({placeholders(7)}) ON CONFLICT (task_id) DO NOTHING"
)
_AS_SET = (
    "round = excluded.round, round_start = excluded.round_start, country = excluded.country, "
    "status = excluded.status, confidence = excluded.confidence, belief = excluded.belief, "
    "reachability_ratio = excluded.reachability_ratio, payload = excluded.payload, "
    "mechanism = excluded.mechanism"
)
_AS_INSERT = (
    "INSERT INTO {table} (asn, round, round_start, country, status, confidence, belief, "
    f"reachability_ratio, payload, mechanism) VALUES ({placeholders(10)}) "
)
STORE_AS_VERDICT = (
    _AS_INSERT.format(table="as_verdicts") + f"ON CONFLICT (asn, round) DO UPDATE SET {_AS_SET}"
)
# The latest-verdict tables never move back to an older round stored late.
STORE_LATEST_AS_VERDICT = (
    _AS_INSERT.format(table="latest_as_verdicts")
    + f"ON CONFLICT (asn) DO UPDATE SET {_AS_SET} WHERE excluded.round >= latest_as_verdicts.round"
)
_COUNTRY_SET = (
    "round = excluded.round, round_start = excluded.round_start, status = excluded.status, "
    "confidence = excluded.confidence, reachability_ratio = excluded.reachability_ratio, "
    "payload = excluded.payload, mechanism = excluded.mechanism"
)
_COUNTRY_INSERT = (
    "INSERT INTO {table} (country, round, round_start, status, confidence, reachability_ratio, payload, "
    f"mechanism) VALUES ({placeholders(8)}) "
)
STORE_COUNTRY_VERDICT = (
    _COUNTRY_INSERT.format(table="country_verdicts")
    + f"ON CONFLICT (country, round) DO UPDATE SET {_COUNTRY_SET}"
)
STORE_LATEST_COUNTRY_VERDICT = (
    _COUNTRY_INSERT.format(table="latest_country_verdicts")
    + f"ON CONFLICT (country) DO UPDATE SET {_COUNTRY_SET} "
    "WHERE excluded.round >= latest_country_verdicts.round"
)
STORE_ENGINE_STATE = (
    "INSERT INTO engine_state (singleton, state, round) VALUES (1, ?, ?) ON CONFLICT (singleton) "
    "DO UPDATE SET state = excluded.state, round = excluded.round WHERE excluded.round >= engine_state.round"
)
STORE_ENGINE_ROW = (
    "INSERT INTO engine_state_rows (row_key, round, state) VALUES (?, ?, ?) ON CONFLICT (row_key) "
    "DO UPDATE SET state = excluded.state, round = excluded.round "
    "WHERE excluded.round >= engine_state_rows.round"
)
DELETE_ENGINE_ROW = "DELETE FROM engine_state_rows WHERE row_key = ? AND round <= ?"


# ------------------------------------------------------------ record → parameters
def probe_params(probe: ProbeRecord) -> tuple[object, ...]:
    """INSERT_PROBE's parameters (booleans as Python bools: SQLite stores them as 0/1)."""
    return (
        probe.probe_id,
        probe.name,
        probe.credential_hash,
        probe.enrolled_at_unix_s,
        probe.observed_asn,
        probe.observed_country,
        probe.pinned_asn,
        probe.pinned_country,
        probe.address,
        probe.last_contact_unix_s,
        probe.results_received,
        probe.revoked_at_unix_s,
        probe.software_version,
        probe.capability_icmp,
        probe.capability_ipv6,
    )


def target_params(target: TargetRecord) -> tuple[object, ...]:
    """TARGET_COLUMNS order; protocols and tags as JSON arrays (one TEXT column each)."""
    return (
        target.target_id,
        target.target,
        target.kind,
        json.dumps(list(target.protocols)),
        target.country,
        target.asn,
        json.dumps(list(target.tags)),
        target.source,
        target.address,
        target.added_at_unix_s,
    )


def claim_params(record: RoundRecord) -> tuple[object, ...]:
    """The claim's columns: number, start, length_s, computed_by, claimed_at."""
    return (record.number, record.start_unix_s, record.length_s, record.computed_by, record.claimed_at_unix_s)


def round_params(record: RoundRecord) -> tuple[object, ...]:
    """ROUND_COLUMNS order."""
    return (
        record.number,
        record.start_unix_s,
        record.length_s,
        record.computed_by,
        record.claimed_at_unix_s,
        record.computed_at_unix_s,
        record.observations,
        json.dumps(list(record.suspect_probes)),
        json.dumps(list(record.offline_probes)),
        record.algorithm_version,
    )


def as_verdict_params(v: StoredAsVerdict) -> tuple[object, ...]:
    return (v.asn, v.round, v.round_start_unix_s, v.country, v.status, v.confidence, v.belief,
            v.reachability_ratio, v.payload, v.mechanism)  # fmt: skip


def country_verdict_params(v: StoredCountryVerdict) -> tuple[object, ...]:
    return (v.country, v.round, v.round_start_unix_s, v.status, v.confidence, v.reachability_ratio, v.payload,
            v.mechanism)  # fmt: skip


def event_params(e: StoredEvent) -> tuple[object, ...]:
    """EVENT_COLUMNS order."""
    return (e.event_id, e.kind, e.asn, e.country, e.started_at_unix_s, e.ended_at_unix_s,
            e.opened_round, e.updated_round, e.payload, e.mechanism)  # fmt: skip


# ------------------------------------------------------------ row → record (columns as listed above)
def probe_from_row(row: Row) -> ProbeRecord:
    return ProbeRecord(
        probe_id=row[0],
        name=row[1],
        credential_hash=row[2],
        enrolled_at_unix_s=float(row[3]),
        observed_asn=int(row[4]),
        observed_country=row[5],
        pinned_asn=int(row[6]),
        pinned_country=row[7],
        address=row[8],
        last_contact_unix_s=None if row[9] is None else float(row[9]),
        results_received=int(row[10]),
        revoked_at_unix_s=None if row[11] is None else float(row[11]),
        software_version=row[12],
        capability_icmp=bool(row[13]),
        capability_ipv6=bool(row[14]),
    )


def target_from_row(row: Row) -> TargetRecord:
    return TargetRecord(
        target_id=row[0],
        target=row[1],
        kind=row[2],
        protocols=tuple(int(p) for p in json.loads(row[3])),
        country=row[4],
        asn=int(row[5]),
        tags=tuple(json.loads(row[6])),
        source=row[7],
        address=row[8],
        added_at_unix_s=float(row[9]),
    )


def round_from_row(row: Row) -> RoundRecord:
    return RoundRecord(
        number=int(row[0]),
        start_unix_s=float(row[1]),
        length_s=float(row[2]),
        computed_by=row[3],
        claimed_at_unix_s=float(row[4]),
        computed_at_unix_s=None if row[5] is None else float(row[5]),
        observations=int(row[6]),
        suspect_probes=tuple(json.loads(row[7])),
        offline_probes=tuple(json.loads(row[8])),
        algorithm_version=row[9],
    )


def as_verdict_from_row(row: Row) -> StoredAsVerdict:
    return StoredAsVerdict(
        round=int(row[0]),
        round_start_unix_s=float(row[1]),
        asn=int(row[2]),
        country=row[3],
        status=int(row[4]),
        confidence=float(row[5]),
        belief=float(row[6]),
        reachability_ratio=float(row[7]),
        payload=bytes(row[8]),
        mechanism=int(row[9]),
    )


def country_verdict_from_row(row: Row) -> StoredCountryVerdict:
    return StoredCountryVerdict(
        round=int(row[0]),
        round_start_unix_s=float(row[1]),
        country=row[2],
        status=int(row[3]),
        confidence=float(row[4]),
        reachability_ratio=float(row[5]),
        payload=bytes(row[6]),
        mechanism=int(row[7]),
    )


def event_from_row(row: Row) -> StoredEvent:
    return StoredEvent(
        event_id=row[0],
        kind=int(row[1]),
        asn=int(row[2]),
        country=row[3],
        started_at_unix_s=float(row[4]),
        ended_at_unix_s=None if row[5] is None else float(row[5]),
        opened_round=int(row[6]),
        updated_round=int(row[7]),
        payload=bytes(row[8]),
        mechanism=int(row[9]),
    )


# ------------------------------------------------------------ target discovery
CAMPAIGN_COLUMNS = "campaign_id, countries, asns, census_period_s, refresh_s, created_at, cancelled_at"
BLOCK_COLUMNS = "block, epoch, history, asn, country, updated_at"
INSERT_CAMPAIGN = f"INSERT INTO discovery_campaigns ({CAMPAIGN_COLUMNS}) VALUES ({placeholders(7)})"
STORE_BLOCK = (
    f"INSERT INTO block_histories ({BLOCK_COLUMNS}) VALUES ({placeholders(6)}) "
    "ON CONFLICT (block) DO UPDATE SET epoch = excluded.epoch, history = excluded.history, "
    "asn = excluded.asn, country = excluded.country, updated_at = excluded.updated_at"
)


def campaign_params(c: CampaignRecord) -> tuple[object, ...]:
    return (
        c.campaign_id,
        " ".join(c.countries),
        " ".join(str(asn) for asn in c.asns),
        c.census_period_s,
        c.refresh_s,
        c.created_at_unix_s,
        c.cancelled_at_unix_s,
    )


def campaign_from_row(row: Row) -> CampaignRecord:
    return CampaignRecord(
        campaign_id=row[0],
        countries=tuple(row[1].split()),
        asns=tuple(int(a) for a in row[2].split()),
        census_period_s=float(row[3]),
        refresh_s=float(row[4]),
        created_at_unix_s=float(row[5]),
        cancelled_at_unix_s=None if row[6] is None else float(row[6]),
    )


def block_params(b: BlockHistoryRecord) -> tuple[object, ...]:
    return (b.block, b.epoch, b.history, b.asn, b.country, b.updated_at_unix_s)


def block_from_row(row: Row) -> BlockHistoryRecord:
    return BlockHistoryRecord(
        block=row[0],
        epoch=int(row[1]),
        history=bytes(row[2]),
        asn=int(row[3]),
        country=row[4],
        updated_at_unix_s=float(row[5]),
    )
