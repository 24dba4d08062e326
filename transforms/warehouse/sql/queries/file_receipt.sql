-- The receipt of one file on record, by its submission id or by the name it landed under in the inbox (the web
-- pages: the outcome of an upload, and the statistician's page of a file); the latest when a name came twice.
SELECT s.submission_id, s.file_name, s.status, s.reason, s.unit_code, u.unit_name, s.as_of_date,
       s.received_at, s.processed_at, s.figures_read, s.warnings, s.report_path
FROM raw.submissions s
LEFT JOIN ref.units u USING (unit_code)
WHERE s.submission_id = $submission_id OR s.file_name = $file_name
ORDER BY s.processed_at DESC
LIMIT 1
