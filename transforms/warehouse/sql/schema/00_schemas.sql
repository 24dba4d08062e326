-- raw: what was received and read; ref: reference data as of the last run; marts: views for people.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS marts;
