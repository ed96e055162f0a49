-- Vantage collector schema, version 3 (PostgreSQL): target discovery (docs/discovery.md).
-- A campaign is what the operator started; its census schedule is a function
-- of time and these columns, so nothing else about it is stored.
-- A block's response history is one blob (for an IPv4 /24: 256 little-endian
-- uint16 bitmaps, bit 0 = the latest census) shifted to census `epoch`.
-- Discovered targets are ordinary rows of `targets` with source 'discovery'; one the
-- operator removed is remembered in declined_targets, so selection never adds it again.

CREATE TABLE discovery_campaigns (
    campaign_id TEXT PRIMARY KEY,
    countries TEXT NOT NULL,                 -- space-separated ISO 3166-1 alpha-2 codes
    asns TEXT NOT NULL,                      -- space-separated AS numbers
    census_period_s DOUBLE PRECISION NOT NULL,
    refresh_s DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    cancelled_at DOUBLE PRECISION
);

CREATE TABLE block_histories (
    block TEXT PRIMARY KEY,                  -- CIDR text: 198.51.100.0/24, 2001:db8:1::/48
    epoch BIGINT NOT NULL,                   -- census epoch the bitmaps are shifted to
    history BYTEA NOT NULL,
    asn BIGINT NOT NULL DEFAULT 0,
    country TEXT NOT NULL DEFAULT '',
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX block_histories_asn ON block_histories (asn);

CREATE TABLE declined_targets (
    target_id TEXT PRIMARY KEY,
    target TEXT NOT NULL
);
