-- What a day's roll-up reads that can change between runs: the files recorded (any new receipt or supersession
-- comes with a new row), the publications and the calendar.
SELECT
    (SELECT count(*) FROM raw.submissions) AS submissions,
    (SELECT max(processed_at) FROM raw.submissions) AS last_processed,
    (SELECT count(*) FROM raw.publications) AS publications,
    (SELECT count(*) FROM raw.published_figures) AS published_figures,
    (SELECT max(as_of_date) FROM raw.rollup_days) AS last_day
