-- Vantage collector schema, version 7: the versions of events a revision replaced (issue 21),
-- so that `vantage timeline --as-of T` shows each event as it was known at T.
-- A revision that moves, re-words or withdraws an event archives the version it replaces, with
-- the time until which it was the answer (the revision's time); an event a revision found has a
-- row with an empty payload: it was not known before then. Live rounds' updates of an open event
-- are not archived: as of T, an event that ended after T is shown open
-- (collector/service/timeline_revisions.py).

CREATE TABLE event_revisions (
    event_id TEXT NOT NULL,
    valid_until DOUBLE PRECISION NOT NULL,
    kind INTEGER NOT NULL,
    asn BIGINT NOT NULL,
    country TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    opened_round BIGINT NOT NULL,
    updated_round BIGINT NOT NULL,
    payload BYTEA NOT NULL,                    -- empty: the event was not known before valid_until
    mechanism INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, valid_until)
);
CREATE INDEX event_revisions_scope ON event_revisions (asn, country, started_at);
