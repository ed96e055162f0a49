"""Row-to-record conversions shared by the SQL backends (columns in the order the SELECTs use)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vantage.collector.storage.records import (
    ProbeRecord,
    RoundRecord,
    StoredAsVerdict,
    StoredCountryVerdict,
    StoredEvent,
    TargetRecord,
)

Row = Sequence[Any]


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
    )
