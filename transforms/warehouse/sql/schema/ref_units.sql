-- Reporting units from data/reference/units.csv and whether campaign.toml expects them daily; refreshed on every run.
CREATE OR REPLACE TABLE ref.units (
    unit_code  VARCHAR PRIMARY KEY,
    unit_name  VARCHAR NOT NULL,
    level      VARCHAR NOT NULL,
    expected   BOOLEAN NOT NULL,   -- expected to report every day of the campaign
    position   INTEGER NOT NULL
);
