-- The file now counted for each unit and date in batch_pairs: of its accepted files, the last received.
SELECT unit_code, as_of_date, received_at, submission_id, file_name
FROM raw.submissions
WHERE status IN ('loaded', 'superseded')
  AND (unit_code, as_of_date) IN (SELECT unit_code, as_of_date FROM batch_pairs)
QUALIFY row_number() OVER (PARTITION BY unit_code, as_of_date ORDER BY received_at DESC, submission_id DESC) = 1
