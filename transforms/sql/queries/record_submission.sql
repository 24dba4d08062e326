-- One file received and its final state; processed_at is given for files recorded in a batch, else now().
INSERT INTO raw.submissions (submission_id, file_name, sha256, received_at, unit_code, as_of_date, status, reason,
                             archive_path, report_path, processed_at, figures_read, warnings)
VALUES ($submission_id, $file_name, $sha256, $received_at, $unit_code, $as_of_date, $status, $reason,
        $archive_path, $report_path, coalesce($processed_at, now()), $figures_read, $warnings)
