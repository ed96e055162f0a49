-- Vantage collector schema, version 7: event revisions (issue 21). The versions of events a
-- round replaced, so that `vantage timeline --as-of T` shows each event as it was known at T;
-- and what each recomputation changed, so that every collector's WatchEvents sends it.
-- Every round, first computed or revised, that changes a stored event keeps the version it
-- replaces, with the time until which it was the answer (the round's computed_at, or the
-- revision's time); a revision that withdraws an event keeps it too; a new event has a row with
-- an empty payload: it was not known before then (collector/service/timeline_revisions.py).

CREATE TABLE event_revisions (
    event_id TEXT NOT NULL,
    valid_until REAL NOT NULL,
    kind INTEGER NOT NULL,
    asn INTEGER NOT NULL,
    country TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    opened_round INTEGER NOT NULL,
    updated_round INTEGER NOT NULL,
    payload BLOB NOT NULL,                    -- empty: the event was not known before valid_until
    mechanism INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, valid_until)
);
CREATE INDEX event_revisions_scope ON event_revisions (asn, country, started_at);

-- What a finished recomputation changed, as WatchEvents sends it (EVENT_CHANGE_REVISED or
-- WITHDRAWN in the payload): the collector that revised sends it to its own watchers; the others
-- relay it from here, by key (collector/service/followers.py).
CREATE TABLE event_changes (
    change_key INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_by TEXT NOT NULL,                -- the collector that stored the revision
    event_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    asn INTEGER NOT NULL,
    country TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    opened_round INTEGER NOT NULL,
    updated_round INTEGER NOT NULL,
    payload BLOB NOT NULL,
    mechanism INTEGER NOT NULL DEFAULT 0
);
