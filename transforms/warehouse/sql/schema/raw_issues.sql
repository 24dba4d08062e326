-- Every problem found in a submission: errors (why it was rejected) and warnings (what was left out).
CREATE TABLE IF NOT EXISTS raw.issues (
    submission_id  VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    rule           VARCHAR NOT NULL,
    sheet          VARCHAR,
    cell           VARCHAR,
    raw_text       VARCHAR,
    message_zh     VARCHAR NOT NULL,
    message_en     VARCHAR NOT NULL
);
