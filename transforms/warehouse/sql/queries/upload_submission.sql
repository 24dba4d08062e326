-- The receipt of one uploaded file, found by the name it landed under in the inbox (the web page's outcome).
SELECT s.submission_id, s.file_name, s.status, s.reason, s.unit_code, u.unit_name, s.as_of_date,
       s.received_at, s.processed_at, s.figures_read, s.warnings
FROM raw.submissions s
LEFT JOIN ref.units u USING (unit_code)
WHERE s.file_name = $file_name
ORDER BY s.processed_at DESC
LIMIT 1
