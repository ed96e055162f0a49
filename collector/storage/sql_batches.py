"""Stored result batches in SQL (schema 0002), shared by SQLite and PostgreSQL.

Statements use `?` placeholders (SqlStorage._sql turns them into `%s` for
psycopg). Also here: turning schema 0001's one-row-per-result `measurements`
table into batches, so an upgraded collector keeps every result it had.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from vantage.collector.storage.records import ResultBatchRecord, measurement_id_bytes

BATCH_COLUMNS = (
    "probe_id, probe_asn, probe_country, received_at, first_started_at, last_started_at, rounds, "
    "results, measurement_ids, target_asns, skipped, payload"
)
INSERT_BATCH = f"INSERT INTO result_batches ({BATCH_COLUMNS}) VALUES ({', '.join('?' * 12)})"
INSERT_BATCH_ROUND = "INSERT INTO result_batch_rounds (round, batch_key) VALUES (?, ?) ON CONFLICT DO NOTHING"
SELECT_ROUND_BATCHES = (
    f"SELECT b.batch_key, {', '.join('b.' + c.strip() for c in BATCH_COLUMNS.split(','))} "
    "FROM result_batch_rounds r JOIN result_batches b ON b.batch_key = r.batch_key "
    "WHERE r.round = ? ORDER BY b.batch_key"
)
SELECT_BATCHES_AFTER = (
    f"SELECT batch_key, {BATCH_COLUMNS} FROM result_batches WHERE batch_key > ? ORDER BY batch_key LIMIT ?"
)
SELECT_TASK_KINDS = "SELECT task_id, kind FROM issued_tasks WHERE round = ?"
COUNT_RESULTS = "SELECT COALESCE(SUM(results), 0) FROM result_batches"
SELECT_EXPIRED_BATCHES = f"SELECT batch_key, {BATCH_COLUMNS} FROM result_batches WHERE last_started_at < ?"
DELETE_ID = "DELETE FROM measurement_ids WHERE measurement_id = ?"
DELETE_BATCH_ROUNDS = "DELETE FROM result_batch_rounds WHERE batch_key = ?"
DELETE_BATCH = "DELETE FROM result_batches WHERE batch_key = ?"
ADD_RESULTS_RECEIVED = "UPDATE probes SET results_received = results_received + ? WHERE probe_id = ?"


def _numbers(values: Iterable[int]) -> str:
    return " ".join(str(v) for v in values)


def _parse_numbers(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split())


def batch_params(batch: ResultBatchRecord, skipped: tuple[int, ...]) -> tuple[object, ...]:
    """INSERT_BATCH's parameters: the batch as stored, with the duplicates storage found."""
    return (
        batch.probe_id,
        batch.probe_asn,
        batch.probe_country,
        batch.received_at_unix_s,
        batch.first_started_at_unix_s,
        batch.last_started_at_unix_s,
        _numbers(batch.rounds),
        batch.items - len(skipped),
        batch.measurement_ids,
        batch.target_asns,
        _numbers(skipped),
        batch.payload,
    )


def batch_from_row(row: Sequence[Any]) -> ResultBatchRecord:
    """A row of SELECT batch_key, BATCH_COLUMNS → the record."""
    return ResultBatchRecord(
        probe_id=row[1],
        probe_asn=int(row[2]),
        probe_country=row[3],
        received_at_unix_s=float(row[4]),
        first_started_at_unix_s=float(row[5]),
        last_started_at_unix_s=float(row[6]),
        rounds=_parse_numbers(row[7]),
        measurement_ids=bytes(row[9]),
        target_asns=bytes(row[10]),
        skipped=_parse_numbers(row[11]),
        payload=bytes(row[12]),
        batch_key=int(row[0]),
    )


# ------------------------------------------------------------ schema 0001 → 0002
SELECT_V1_MEASUREMENTS = (
    "SELECT measurement_id, probe_id, probe_asn, probe_country, round, target_asn, started_at, "
    "received_at, payload FROM measurements_v1 ORDER BY probe_id, received_at, measurement_id"
)
# A repeated message field 2 (ResultBatch.measurements) is, on the wire, the tag byte 0x12, the
# length as a varint, then the message: concatenating these framings of stored payloads builds a
# ResultBatch without decoding anything (protobuf's encoding guide, "Length-delimited records").
_RESULT_BATCH_MEASUREMENTS_TAG = b"\x12"
V1_BATCH_ITEMS = 1000


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def batches_from_v1_rows(rows: Iterable[Sequence[Any]]) -> Iterator[ResultBatchRecord]:
    """Schema 0001's measurement rows (SELECT_V1_MEASUREMENTS order) → batches of up to
    V1_BATCH_ITEMS results of one probe and one location, in the original order."""
    pending: list[Sequence[Any]] = []

    def flush() -> ResultBatchRecord:
        first = pending[0]
        payload = b"".join(
            _RESULT_BATCH_MEASUREMENTS_TAG + _varint(len(row[8])) + bytes(row[8]) for row in pending
        )
        started = [float(row[6]) for row in pending]
        return ResultBatchRecord(
            probe_id=first[1],
            probe_asn=int(first[2]),
            probe_country=first[3],
            received_at_unix_s=max(float(row[7]) for row in pending),
            first_started_at_unix_s=min(started),
            last_started_at_unix_s=max(started),
            rounds=tuple(sorted({int(row[4]) for row in pending})),
            measurement_ids=b"".join(measurement_id_bytes(row[0]) for row in pending),
            target_asns=struct.pack(f"<{len(pending)}I", *(int(row[5]) & 0xFFFFFFFF for row in pending)),
            payload=payload,
        )

    for row in rows:
        if pending and (len(pending) >= V1_BATCH_ITEMS or (row[1], row[2], row[3]) != tuple(pending[0][1:4])):
            yield flush()
            pending = []
        pending.append(row)
    if pending:
        yield flush()
