-- Vantage collector schema, version 6: the mechanism of each verdict and event (issue 17),
-- vantage.collector.verdict.model.Mechanism (0: none, 1 bgp_withdrawal, 2 data_plane,
-- 3 throttling, 4 partial, 5 service_blocking, 6 unknown), the same number as in the payload.
-- A column, so that timelines and event lists show it without decoding every payload.
-- Rows written before version 6 have none (0).

ALTER TABLE as_verdicts ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
ALTER TABLE latest_as_verdicts ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
ALTER TABLE country_verdicts ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
ALTER TABLE latest_country_verdicts ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
-- Superseded verdicts (version 5's revisions) keep the mechanism they were stored with.
ALTER TABLE as_verdict_revisions ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
ALTER TABLE country_verdict_revisions ADD COLUMN mechanism INTEGER NOT NULL DEFAULT 0;
