-- The warnings recorded with the files $submission_ids (rows of raw.issues): where each was found (sheet and cell,
-- when known), the text there, and the message in Chinese and English, in the order they were found.
select
    issues.submission_id,
    issues.rule,
    issues.sheet,
    issues.cell,
    issues.raw_text,
    issues.message_zh,
    issues.message_en
from raw.issues as issues
where issues.severity = 'warning'
    and issues.submission_id in (select unnest($submission_ids))
order by issues.submission_id, issues.rowid
