-- A unit's figures as one accepted submission states them: one row per indicator (and item type).
-- item_type is NULL on the all-types row of items_issued.
CREATE TABLE IF NOT EXISTS raw.facts (
    submission_id      VARCHAR NOT NULL,
    unit_code          VARCHAR NOT NULL,
    as_of_date         DATE NOT NULL,
    indicator          VARCHAR NOT NULL,
    item_type          VARCHAR,
    value              DOUBLE,              -- NULL only when qualifier = 'unspecified'
    qualifier          VARCHAR NOT NULL CHECK (qualifier IN ('exact', 'at_least', 'approx', 'unspecified')),
    parts_unspecified  INTEGER NOT NULL,    -- parts written 若干, left out of value
    source_cells       VARCHAR NOT NULL,    -- 'sheet!C9' or 'sheet!C6 + sheet!C7'
    raw_text           VARCHAR NOT NULL
);
