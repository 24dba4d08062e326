-- Of each unit and date in batch_pairs, the last accepted file received is loaded and the others are superseded
-- by it (a late correction wins; a file that lands late with older content does not).
UPDATE raw.submissions AS s
SET status = CASE WHEN r.position = 1 THEN 'loaded' ELSE 'superseded' END,
    reason = CASE WHEN r.position = 1 THEN NULL
                  ELSE 'superseded by ' || r.current_file || ' (' || r.current_id || '), a later file for the same '
                       || 'unit and date' END
FROM (
    SELECT submission_id,
           row_number() OVER latest AS position,
           first_value(file_name) OVER latest AS current_file,
           first_value(submission_id) OVER latest AS current_id
    FROM raw.submissions
    WHERE status IN ('loaded', 'superseded')
      AND (unit_code, as_of_date) IN (SELECT unit_code, as_of_date FROM batch_pairs)
    WINDOW latest AS (PARTITION BY unit_code, as_of_date ORDER BY received_at DESC, submission_id DESC)
) AS r
WHERE s.submission_id = r.submission_id
