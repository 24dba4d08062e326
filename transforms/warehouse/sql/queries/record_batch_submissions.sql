-- A batch's receipts and their states as they stood once each was recorded, from the Arrow table registered as
-- batch_submissions; processed_at is given for files validated in a batch, else it is now.
INSERT INTO raw.submissions (submission_id, file_name, sha256, received_at, unit_code, as_of_date, status, reason,
                             archive_path, report_path, processed_at, figures_read, warnings)
SELECT submission_id, file_name, sha256, received_at, unit_code, as_of_date, status, reason, archive_path,
       report_path, coalesce(processed_at, now()), figures_read, warnings
FROM batch_submissions
