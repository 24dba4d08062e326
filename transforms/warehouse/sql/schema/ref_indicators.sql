-- The indicator catalogue from data/reference/indicators.csv, refreshed on every run.
CREATE OR REPLACE TABLE ref.indicators (
    indicator  VARCHAR PRIMARY KEY,
    name_zh    VARCHAR NOT NULL,
    name_en    VARCHAR NOT NULL,
    unit       VARCHAR NOT NULL,
    headline   BOOLEAN NOT NULL,
    position   INTEGER NOT NULL
);
