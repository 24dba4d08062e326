-- Every cross-field finding of a batch's counted submissions, from the Arrow table registered as
-- batch_cross_field_findings.
INSERT INTO raw.cross_field_findings SELECT * FROM batch_cross_field_findings
