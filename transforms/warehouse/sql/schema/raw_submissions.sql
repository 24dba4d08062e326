-- One row per file received, duplicates included; status is its one final state.
CREATE TABLE IF NOT EXISTS raw.submissions (
    submission_id  VARCHAR PRIMARY KEY,      -- one receipt of one file
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,         -- the archived copy is data/raw/archive/<sha256><suffix>
    received_at    TIMESTAMPTZ NOT NULL,     -- when it landed in the inbox (its mtime there)
    unit_code      VARCHAR,
    as_of_date     DATE,
    status         VARCHAR NOT NULL CHECK (status IN ('loaded', 'superseded', 'duplicate', 'rejected')),
    reason         VARCHAR,                  -- one line: why rejected, duplicate of what, superseded by what
    archive_path   VARCHAR NOT NULL,
    report_path    VARCHAR,                  -- the rejection report, for rejected files
    processed_at   TIMESTAMPTZ NOT NULL,
    figures_read   INTEGER NOT NULL DEFAULT 0,
    warnings       INTEGER NOT NULL DEFAULT 0
);
