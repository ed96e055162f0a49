-- Vantage collector schema, version 2: raw results are stored per batch.
-- One row per accepted batch holds the probe's serialized vantage.v1.ResultBatch
-- and, per item, what ingest derived (16-byte measurement id, target AS as
-- uint32 little-endian). Per result, the database then does one insert of 16
-- bytes into measurement_ids, the dedup index that makes ingest idempotent;
-- 0001's row of 21 columns, a random-UUID unique index and two more indexes
-- per result capped ingest near 17k results/s (docs/ingest.md).
-- Rows of 0001's measurements table are converted into batches by the
-- collector right after this migration, then the old table is dropped.

CREATE TABLE result_batches (
    batch_key INTEGER PRIMARY KEY,
    probe_id TEXT NOT NULL,
    probe_asn INTEGER NOT NULL,
    probe_country TEXT NOT NULL,
    received_at REAL NOT NULL,
    first_started_at REAL NOT NULL,
    last_started_at REAL NOT NULL,          -- retention drops the batch once this is past
    rounds TEXT NOT NULL,                    -- its items' distinct rounds, space-separated
    results INTEGER NOT NULL,                -- items stored (duplicates not counted)
    measurement_ids BLOB NOT NULL,           -- 16 bytes per item, in payload order
    target_asns BLOB NOT NULL,               -- uint32 little-endian per item
    skipped TEXT NOT NULL DEFAULT '',        -- indexes of duplicate items, space-separated
    payload BLOB NOT NULL                    -- serialized vantage.v1.ResultBatch
);
CREATE INDEX result_batches_last_started_at ON result_batches (last_started_at);

-- Which batches hold results of a round (a batch sent after hours offline holds several).
CREATE TABLE result_batch_rounds (
    round INTEGER NOT NULL,
    batch_key BIGINT NOT NULL,
    PRIMARY KEY (round, batch_key)
) WITHOUT ROWID;

-- Every stored measurement id, once: ingest is idempotent on it.
CREATE TABLE measurement_ids (
    measurement_id BLOB PRIMARY KEY
) WITHOUT ROWID;

ALTER TABLE measurements RENAME TO measurements_v1;
DROP INDEX measurements_round;
DROP INDEX measurements_started_at;
