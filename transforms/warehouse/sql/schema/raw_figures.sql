-- Every figure cell of every accepted submission, exactly as read: the provenance of each fact.
CREATE TABLE IF NOT EXISTS raw.figures (
    submission_id  VARCHAR NOT NULL,
    sheet          VARCHAR NOT NULL,
    cell           VARCHAR NOT NULL,        -- A1 style
    row_label      VARCHAR,                 -- the town or street of the row
    row_role       VARCHAR NOT NULL,        -- part, total (合计) or subtotal (小计)
    indicator      VARCHAR NOT NULL,
    item_type      VARCHAR,
    value          DOUBLE,
    qualifier      VARCHAR NOT NULL,
    raw_text       VARCHAR NOT NULL
);
