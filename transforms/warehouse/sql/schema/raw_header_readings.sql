-- Every header of every file read (a wide table's column header, or a list row's name) and how it was read:
-- the indicator it maps to and how that was decided (a catalogue alias, or inferred with the rule and the words
-- that decided it), or why it maps to nothing and what it could have been. `warmline headers` lists them.
CREATE TABLE IF NOT EXISTS raw.header_readings (
    submission_id  VARCHAR NOT NULL,
    sheet          VARCHAR NOT NULL,
    cell           VARCHAR NOT NULL,        -- the header cell (A1 style); for a list, the row's name cell
    header         VARCHAR NOT NULL,        -- as written; a group header and its column as 'group / column'
    unit           VARCHAR,                 -- the measure it was read with (brackets, unit column, units row)
    indicator      VARCHAR,                 -- NULL when unmapped
    item_type      VARCHAR,
    how            VARCHAR NOT NULL CHECK (how IN ('alias', 'inferred', 'unmapped')),
    rule           VARCHAR NOT NULL,        -- alias; the inference rule; or why unmapped (ambiguous, contradictory …)
    words          VARCHAR,                 -- the words that decided, '、'-separated
    candidates     VARCHAR,                 -- unmapped: the indicators it could be, ','-separated
    detail         VARCHAR,                 -- the verdict in a few words
    cells          INTEGER NOT NULL         -- figure cells under it: loaded, or listed in raw.unmapped_cells
);
