-- Each time a day was published (bulletin written): when, whether forced past blocking checks, and which.
CREATE TABLE IF NOT EXISTS raw.publications (
    as_of_date        DATE NOT NULL,
    published_at      TIMESTAMPTZ NOT NULL,
    forced            BOOLEAN NOT NULL,
    blocking_checks   VARCHAR            -- the blocking checks that failed when forced, one per line
);
-- Why the statistician published past the blocking checks (`--force --reason`); NULL when not forced.
ALTER TABLE raw.publications ADD COLUMN IF NOT EXISTS force_reason VARCHAR;
