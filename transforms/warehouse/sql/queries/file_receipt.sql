-- The receipt of one file on record, by its submission id (the statistician's page of a file).
SELECT s.submission_id, s.file_name, s.status, s.reason, s.unit_code, u.unit_name, s.as_of_date,
       s.received_at, s.processed_at, s.figures_read, s.warnings, s.report_path
FROM raw.submissions s
LEFT JOIN ref.units u USING (unit_code)
WHERE s.submission_id = $submission_id
