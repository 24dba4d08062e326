-- Every row of an accepted file that breaks a rule between its figures (expectations/cross_field.json), found when
-- the file was validated or read again: a day's cross_field check reads those of its loaded files, and so runs no
-- validation suite. A file recorded before this table existed has none until it is read again.
CREATE TABLE IF NOT EXISTS raw.cross_field_findings (
    submission_id  VARCHAR NOT NULL,
    sheet          VARCHAR NOT NULL,
    row_number     INTEGER NOT NULL,        -- the Excel row, 1-based
    cells          VARCHAR NOT NULL,        -- the row's figure cells, e.g. 'B5, C5, L5, M5'
    rule           VARCHAR NOT NULL,        -- the rule's slug, e.g. persons-below-households
    message_zh     VARCHAR NOT NULL,
    message_en     VARCHAR NOT NULL
);
