-- A submission's facts as they stood before it was read again (raw.rereads): what the re-reading changed shows in
-- marts.revisions.
CREATE TABLE IF NOT EXISTS raw.reread_facts (
    submission_id      VARCHAR NOT NULL,
    reread_at          TIMESTAMPTZ NOT NULL,
    indicator          VARCHAR NOT NULL,
    item_type          VARCHAR,
    value              DOUBLE,
    qualifier          VARCHAR NOT NULL,
    parts_unspecified  INTEGER NOT NULL,
    source_cells       VARCHAR NOT NULL
);
