-- Vantage collector schema, version 1 (PostgreSQL). Same tables and columns as
-- migrations/sqlite/0001_initial.sql, so both backends share the row
-- conversions; times are DOUBLE PRECISION seconds since the Unix epoch (UTC),
-- `payload` columns hold serialized vantage.v1 protobuf messages, and JSON
-- lists stay TEXT (read back by the same code as SQLite's).
-- The tables live in the connection's current schema (search_path), so one
-- database can hold several independent deployments or test runs.

CREATE TABLE credentials (
    credential_hash TEXT PRIMARY KEY,        -- sha256 hex; the secret is never stored
    role TEXT NOT NULL,                      -- 'admin' | 'reader'
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE enrollment_tokens (
    token_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    used_at DOUBLE PRECISION,
    used_by_probe TEXT NOT NULL DEFAULT ''
);

CREATE TABLE probes (
    probe_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    credential_hash TEXT NOT NULL UNIQUE,
    enrolled_at DOUBLE PRECISION NOT NULL,
    observed_asn BIGINT NOT NULL DEFAULT 0,
    observed_country TEXT NOT NULL DEFAULT '',
    pinned_asn BIGINT NOT NULL DEFAULT 0,
    pinned_country TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    last_contact DOUBLE PRECISION,
    results_received BIGINT NOT NULL DEFAULT 0,
    revoked_at DOUBLE PRECISION,
    software_version TEXT NOT NULL DEFAULT '',
    capability_icmp BOOLEAN NOT NULL DEFAULT FALSE,
    capability_ipv6 BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE targets (
    target_id TEXT PRIMARY KEY,
    target TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    protocols TEXT NOT NULL,                 -- JSON array of vantage.v1.Protocol numbers
    country TEXT NOT NULL DEFAULT '',
    asn BIGINT NOT NULL DEFAULT 0,
    tags TEXT NOT NULL,                      -- JSON array of strings
    source TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    added_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE issued_tasks (
    task_id TEXT PRIMARY KEY,
    round BIGINT NOT NULL,
    probe_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    protocol INTEGER NOT NULL
);
CREATE INDEX issued_tasks_round ON issued_tasks (round);

-- Column types here are the binary COPY types in postgres.py (MEASUREMENT_COPY_TYPES).
CREATE TABLE measurements (
    -- The probe's UUID: ingest is idempotent on it. COLLATE "C": compared bytewise
    -- (UUIDs need no linguistic order), cheaper than a locale collation such as
    -- en_US.UTF-8 in the primary-key index and the ingest sort.
    measurement_id TEXT COLLATE "C" PRIMARY KEY,
    probe_id TEXT NOT NULL,
    round BIGINT NOT NULL,
    task_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_address TEXT NOT NULL,
    target_asn BIGINT NOT NULL,
    probe_asn BIGINT NOT NULL,
    probe_country TEXT NOT NULL,
    protocol INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    failure TEXT NOT NULL,
    rtt_ms DOUBLE PRECISION,
    loss_ratio DOUBLE PRECISION,
    status_code INTEGER NOT NULL,
    body_sha256 TEXT NOT NULL,
    body_length BIGINT NOT NULL,
    dns_answers TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL
);
CREATE INDEX measurements_round ON measurements (round);
CREATE INDEX measurements_started_at ON measurements (started_at);

CREATE TABLE rounds (
    number BIGINT PRIMARY KEY,
    start DOUBLE PRECISION NOT NULL,
    length_s DOUBLE PRECISION NOT NULL,
    computed_by TEXT NOT NULL,
    claimed_at DOUBLE PRECISION NOT NULL,
    computed_at DOUBLE PRECISION,
    observations BIGINT NOT NULL DEFAULT 0,
    suspect_probes TEXT NOT NULL DEFAULT '[]',
    offline_probes TEXT NOT NULL DEFAULT '[]',
    algorithm_version TEXT NOT NULL DEFAULT '',
    -- The leadership term (one per holding of the leader lock) that claimed the
    -- round: a new leader may take over a round claimed in an earlier term and
    -- never computed, and a deposed leader's late result is refused (fencing).
    leader_term TEXT NOT NULL DEFAULT ''
);

CREATE TABLE as_verdicts (
    asn BIGINT NOT NULL,
    round BIGINT NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    country TEXT NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    belief DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (asn, round)
);
CREATE INDEX as_verdicts_start ON as_verdicts (asn, round_start);

-- Each AS's most recent verdict (kept in step by the round's transaction).
CREATE TABLE latest_as_verdicts (
    asn BIGINT PRIMARY KEY,
    round BIGINT NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    country TEXT NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    belief DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL
);
CREATE INDEX latest_as_verdicts_country ON latest_as_verdicts (country, asn);

CREATE TABLE country_verdicts (
    country TEXT NOT NULL,
    round BIGINT NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (country, round)
);
CREATE INDEX country_verdicts_start ON country_verdicts (country, round_start);

CREATE TABLE latest_country_verdicts (
    country TEXT PRIMARY KEY,
    round BIGINT NOT NULL,
    round_start DOUBLE PRECISION NOT NULL,
    status INTEGER NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    reachability_ratio DOUBLE PRECISION NOT NULL,
    payload BYTEA NOT NULL
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    asn BIGINT NOT NULL,
    country TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    opened_round BIGINT NOT NULL,
    updated_round BIGINT NOT NULL,
    payload BYTEA NOT NULL
);
CREATE INDEX events_updated_round ON events (updated_round);
CREATE INDEX events_asn ON events (asn, started_at);
CREATE INDEX events_country ON events (country, started_at);

CREATE TABLE engine_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    state BYTEA NOT NULL,
    round BIGINT NOT NULL
);
