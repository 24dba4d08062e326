-- Every time an archived file was read again (after a header alias was accepted, say): when, why, and its state
-- before and after. Its figures as they stood before are kept in raw.reread_facts.
CREATE TABLE IF NOT EXISTS raw.rereads (
    submission_id  VARCHAR NOT NULL,
    reread_at      TIMESTAMPTZ NOT NULL,
    reason         VARCHAR NOT NULL,
    status_before  VARCHAR NOT NULL,
    status_after   VARCHAR                  -- NULL only while the new reading is being recorded
);
