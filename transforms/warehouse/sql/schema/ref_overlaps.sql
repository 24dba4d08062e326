-- Double counting declared in campaign.toml: unit_code's figure for indicator already includes included_unit's.
CREATE OR REPLACE TABLE ref.overlaps (
    unit_code      VARCHAR NOT NULL,
    indicator      VARCHAR NOT NULL,
    included_unit  VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL
);
