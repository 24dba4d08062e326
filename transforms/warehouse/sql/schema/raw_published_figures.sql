-- The city-wide figures as they stood when a day was published, so a later correction can be called out.
CREATE TABLE IF NOT EXISTS raw.published_figures (
    as_of_date    DATE NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL,
    indicator     VARCHAR NOT NULL,
    value         DOUBLE,
    qualifier     VARCHAR
);
-- The figure's text as the bulletin printed it (2.4万余户), so a correction is owed only when that text changes.
ALTER TABLE raw.published_figures ADD COLUMN IF NOT EXISTS printed VARCHAR;
