-- Before files are recorded again from a new reading of their archived copies (batch_rereads: submission_id,
-- reread_at, reason): remember each with its state, keep its facts as they stand, and clear what the new reading
-- replaces. Its row in raw.submissions is written again at once, in the same transaction: one row per file received.
INSERT INTO raw.rereads
SELECT r.submission_id, r.reread_at, r.reason, s.status, NULL
FROM batch_rereads AS r JOIN raw.submissions AS s USING (submission_id);

INSERT INTO raw.reread_facts
SELECT f.submission_id, r.reread_at, f.indicator, f.item_type, f.value, f.qualifier, f.parts_unspecified, f.source_cells
FROM raw.facts AS f JOIN batch_rereads AS r USING (submission_id);

DELETE FROM raw.figures WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.facts WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.issues WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.header_readings WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.unmapped_cells WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.cross_field_findings WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
DELETE FROM raw.submissions WHERE submission_id IN (SELECT submission_id FROM batch_rereads);
