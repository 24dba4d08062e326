-- Files just read again (batch_rereads): their state once recorded and supersession decided.
UPDATE raw.rereads AS r
SET status_after = s.status
FROM raw.submissions AS s, batch_rereads AS b
WHERE r.submission_id = s.submission_id AND r.submission_id = b.submission_id AND r.reread_at = b.reread_at
