-- Days the daily flow has computed; the marts' calendar runs to the latest of these.
CREATE TABLE IF NOT EXISTS raw.rollup_days (
    as_of_date  DATE PRIMARY KEY,
    run_at      TIMESTAMPTZ NOT NULL
);
