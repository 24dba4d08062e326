-- Every non-empty figure cell of a file that was not loaded, with its header and why: a figure is loaded or
-- listed here, never silently dropped.
CREATE TABLE IF NOT EXISTS raw.unmapped_cells (
    submission_id  VARCHAR NOT NULL,
    sheet          VARCHAR NOT NULL,
    cell           VARCHAR NOT NULL,        -- A1 style
    header         VARCHAR NOT NULL,        -- '' for a figure in a column (or sheet) without a header
    header_cell    VARCHAR,
    row_label      VARCHAR,                 -- the town or street of the row, or the list row's name
    raw_text       VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL         -- unknown, ambiguous, contradictory, weak, unfamiliar, excluded, breakdown, no-header, no-table
);
