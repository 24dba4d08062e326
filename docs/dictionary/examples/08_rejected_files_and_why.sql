-- Rejected files and why
-- Every error that got a file rejected, with the cell and the text found.
select
    submissions.received_at,
    submissions.file_name,
    submissions.unit_code,
    issues.rule,
    issues.sheet,
    issues.cell,
    issues.raw_text,
    issues.message_en
from raw.submissions as submissions
join raw.issues as issues using (submission_id)
where submissions.status = 'rejected' and issues.severity = 'error'
order by submissions.received_at, issues.sheet, issues.cell;
