-- Vantage collector schema, version 5: revisions of computed rounds (issue 21).
-- A result that arrives after its round was computed makes the round dirty; the
-- round holder recomputes it (and the rounds after it) from the engine state it
-- held before that round, and stores the recomputation as a new revision
-- (collector/verdict/revisions.py). Three things make that possible:
-- * engine_state_history: the rows each round wrote (NULL: the row was deleted);
--   the state before round r is, per key, the newest row of a round < r.
--   Housekeeping folds rows older than the revise window.
-- * round_revisions: the latest revision of each revised round, when, how many
--   late results from how many probes, and when its batches were read (a batch
--   received after that is late again).
-- * as/country_verdict_revisions: the verdicts a revision replaced, with the time
--   span in which they were the answer (`vantage timeline --as-of`).

CREATE TABLE engine_state_history (
    row_key TEXT NOT NULL,
    round BIGINT NOT NULL,
    state BYTEA,                              -- NULL: the round deleted the row
    PRIMARY KEY (row_key, round)
);
CREATE INDEX engine_state_history_round ON engine_state_history (round);
INSERT INTO engine_state_history (row_key, round, state) SELECT row_key, round, state FROM engine_state_rows;

CREATE TABLE round_revisions (
    round BIGINT PRIMARY KEY,
    revision BIGINT NOT NULL,               -- 1 for the first recomputation
    revised_at DOUBLE PRECISION NOT NULL,
    read_at DOUBLE PRECISION NOT NULL,                   -- when the revision read the round's batches
    late_results INTEGER NOT NULL,           -- late results of the round, over all revisions
    late_probes INTEGER NOT NULL,
    revised_by TEXT NOT NULL
);

CREATE TABLE as_verdict_revisions (
    asn BIGINT NOT NULL,
    round BIGINT NOT NULL,
    revision INTEGER NOT NULL,               -- the revision this row was (0: the on-time one)
    valid_from DOUBLE PRECISION NOT NULL,
    valid_until DOUBLE PRECISION NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    country TEXT NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    belief DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (asn, round, revision)
);
CREATE INDEX as_verdict_revisions_start ON as_verdict_revisions (asn, round_start);

CREATE TABLE country_verdict_revisions (
    country TEXT NOT NULL,
    round BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    valid_from DOUBLE PRECISION NOT NULL,
    valid_until DOUBLE PRECISION NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (country, round, revision)
);
CREATE INDEX country_verdict_revisions_start ON country_verdict_revisions (country, round_start);

-- A recomputation under way: the next round it must recompute. The history holds the state
-- before that round, so a collector that restarts (or a new leader) resumes from there.
CREATE TABLE revision_pending (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    round BIGINT NOT NULL
);

-- Late results that revise nothing (older than the window, or of a round never computed) are
-- counted from the batches stored since the last look: by key.
CREATE INDEX result_batch_rounds_key ON result_batch_rounds (batch_key);
