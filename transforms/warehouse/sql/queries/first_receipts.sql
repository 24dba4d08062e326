-- The first receipt (not itself a duplicate) of each content hash in batch_shas: what a duplicate is a copy of.
SELECT sha256, received_at, submission_id, file_name, status
FROM raw.submissions
WHERE status <> 'duplicate' AND sha256 IN (SELECT sha256 FROM batch_shas)
QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY received_at, submission_id) = 1
