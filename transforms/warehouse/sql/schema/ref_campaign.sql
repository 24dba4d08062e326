-- The campaign's settings from data/reference/campaign.toml, refreshed on every run.
CREATE OR REPLACE TABLE ref.campaign (
    name            VARCHAR NOT NULL,
    city            VARCHAR NOT NULL,
    start_date      DATE NOT NULL,
    end_date        DATE NOT NULL,
    timezone        VARCHAR NOT NULL,
    daily_deadline  TIME NOT NULL
);
