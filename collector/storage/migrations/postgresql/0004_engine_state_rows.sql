-- Vantage collector schema, version 4: the verdict engine's state per AS (issue 21).
-- One row per AS (its memory, event trackers and home targets) plus a 'meta' row
-- (round, countries, country trackers), cut by collector/verdict/state.py. A round
-- writes only the rows it changed; a row is replaced only by a round at least as
-- new as the one that wrote it. The singleton engine_state blob of schema 1 is
-- kept for reading: a collector upgraded from it converts it on its next round.

CREATE TABLE engine_state_rows (
    row_key TEXT PRIMARY KEY,                -- 'meta' or 'as:<asn>'
    round BIGINT NOT NULL,                   -- the round that wrote the row
    state BYTEA NOT NULL
);
