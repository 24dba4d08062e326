-- Where the files $submission_ids stand now (raw.submissions): a file loaded early in a run and superseded by a
-- later one of the same run is superseded, which is what the run's summary must count.
select
    submissions.submission_id,
    submissions.status,
    submissions.reason
from raw.submissions as submissions
where submissions.submission_id in (select unnest($submission_ids))
