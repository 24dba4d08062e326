-- Every problem found in one submission, errors first, in the order of the sheet's cells.
SELECT severity, rule, sheet, cell, raw_text, message_zh, message_en
FROM raw.issues
WHERE submission_id = $submission_id
ORDER BY severity <> 'error', sheet NULLS FIRST, length(cell) NULLS FIRST, cell, rule
