-- Vantage collector schema, version 1 (SQLite).
-- Times are REAL seconds since the Unix epoch (UTC). `payload` columns hold
-- serialized vantage.v1 protobuf messages; the other columns are what queries
-- and the round computation filter and join on.

CREATE TABLE credentials (
    credential_hash TEXT PRIMARY KEY,        -- sha256 hex; the secret is never stored
    role TEXT NOT NULL,                      -- 'admin' | 'reader'
    created_at REAL NOT NULL
);

CREATE TABLE enrollment_tokens (
    token_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    used_by_probe TEXT NOT NULL DEFAULT ''
);

CREATE TABLE probes (
    probe_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    credential_hash TEXT NOT NULL UNIQUE,
    enrolled_at REAL NOT NULL,
    observed_asn INTEGER NOT NULL DEFAULT 0,
    observed_country TEXT NOT NULL DEFAULT '',
    pinned_asn INTEGER NOT NULL DEFAULT 0,
    pinned_country TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    last_contact REAL,
    results_received INTEGER NOT NULL DEFAULT 0,
    revoked_at REAL,
    software_version TEXT NOT NULL DEFAULT '',
    capability_icmp INTEGER NOT NULL DEFAULT 0,
    capability_ipv6 INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE targets (
    target_id TEXT PRIMARY KEY,
    target TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    protocols TEXT NOT NULL,                 -- JSON array of vantage.v1.Protocol numbers
    country TEXT NOT NULL DEFAULT '',
    asn INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL,                      -- JSON array of strings
    source TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL
);

CREATE TABLE issued_tasks (
    task_id TEXT PRIMARY KEY,
    round INTEGER NOT NULL,
    probe_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    protocol INTEGER NOT NULL
);
CREATE INDEX issued_tasks_round ON issued_tasks (round);

CREATE TABLE measurements (
    measurement_id TEXT NOT NULL UNIQUE,     -- the probe's UUID: ingest is idempotent on it
    probe_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_address TEXT NOT NULL,
    target_asn INTEGER NOT NULL,
    probe_asn INTEGER NOT NULL,
    probe_country TEXT NOT NULL,
    protocol INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    failure TEXT NOT NULL,
    rtt_ms REAL,
    loss_ratio REAL,
    status_code INTEGER NOT NULL,
    body_sha256 TEXT NOT NULL,
    body_length INTEGER NOT NULL,
    dns_answers TEXT NOT NULL,
    started_at REAL NOT NULL,
    received_at REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX measurements_round ON measurements (round);
CREATE INDEX measurements_started_at ON measurements (started_at);

CREATE TABLE rounds (
    number INTEGER PRIMARY KEY,
    start REAL NOT NULL,
    length_s REAL NOT NULL,
    computed_by TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    computed_at REAL,
    observations INTEGER NOT NULL DEFAULT 0,
    suspect_probes TEXT NOT NULL DEFAULT '[]',
    offline_probes TEXT NOT NULL DEFAULT '[]',
    algorithm_version TEXT NOT NULL DEFAULT ''
);

CREATE TABLE as_verdicts (
    asn INTEGER NOT NULL,
    round INTEGER NOT NULL,
    round_start REAL NOT NULL,
    country TEXT NOT NULL,
    status INTEGER NOT NULL,
    confidence REAL NOT NULL,
    belief REAL NOT NULL,
    reachability_ratio REAL NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (asn, round)
);
CREATE INDEX as_verdicts_start ON as_verdicts (asn, round_start);

-- Each AS's most recent verdict (kept in step by the round's transaction) so
-- that "status of every AS" is one indexed scan, not a GROUP BY over history.
CREATE TABLE latest_as_verdicts (
    asn INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    round_start REAL NOT NULL,
    country TEXT NOT NULL,
    status INTEGER NOT NULL,
    confidence REAL NOT NULL,
    belief REAL NOT NULL,
    reachability_ratio REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX latest_as_verdicts_country ON latest_as_verdicts (country, asn);

CREATE TABLE country_verdicts (
    country TEXT NOT NULL,
    round INTEGER NOT NULL,
    round_start REAL NOT NULL,
    status INTEGER NOT NULL,
    confidence REAL NOT NULL,
    reachability_ratio REAL NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (country, round)
);
CREATE INDEX country_verdicts_start ON country_verdicts (country, round_start);

CREATE TABLE latest_country_verdicts (
    country TEXT PRIMARY KEY,
    round INTEGER NOT NULL,
    round_start REAL NOT NULL,
    status INTEGER NOT NULL,
    confidence REAL NOT NULL,
    reachability_ratio REAL NOT NULL,
    payload BLOB NOT NULL
);

CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    asn INTEGER NOT NULL,
    country TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    opened_round INTEGER NOT NULL,
    updated_round INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX events_updated_round ON events (updated_round);
CREATE INDEX events_asn ON events (asn, started_at);
CREATE INDEX events_country ON events (country, started_at);

CREATE TABLE engine_state (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    state BLOB NOT NULL,
    round INTEGER NOT NULL
);
