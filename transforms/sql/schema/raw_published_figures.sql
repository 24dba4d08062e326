-- The city-wide figures as they stood when a day was published, so a later correction can be called out.
CREATE TABLE IF NOT EXISTS raw.published_figures (
    as_of_date    DATE NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL,
    indicator     VARCHAR NOT NULL,
    value         DOUBLE,
    qualifier     VARCHAR
);
