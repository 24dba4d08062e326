-- Every file for day $day, and every file received that day whose unit or date could not be read or whose date
-- cannot be right (after the day it was received, or outside the campaign: a typo that would hide the file from
-- the day it was sent on): its final state, one-line reason, warnings, errors and figure cells not read, and when
-- it landed (campaign time).
with

campaign as (select timezone, start_date, end_date from ref.campaign),

errors as (
    select submission_id, count(*) as errors
    from raw.issues
    where severity = 'error'
    group by submission_id
),

unread as (
    select submission_id, count(*) as unread_cells
    from raw.unmapped_cells
    group by submission_id
),

files as (
    select
        submissions.submission_id,
        submissions.file_name,
        submissions.unit_code,
        units.unit_name,
        submissions.as_of_date,
        submissions.status,
        submissions.reason,
        submissions.report_path,
        submissions.warnings,
        coalesce(errors.errors, 0) as errors,
        coalesce(unread.unread_cells, 0) as unread_cells,
        submissions.received_at,
        submissions.processed_at,
        timezone(campaign.timezone, submissions.received_at) as received_local,
        cast(timezone(campaign.timezone, submissions.received_at) as date) as received_day,
        coalesce(submissions.as_of_date > cast(timezone(campaign.timezone, submissions.received_at) as date)
                 or submissions.as_of_date not between campaign.start_date and campaign.end_date, false)
            as date_doubtful
    from raw.submissions as submissions
    cross join campaign
    left join ref.units as units using (unit_code)
    left join errors using (submission_id)
    left join unread using (submission_id)
),

final as (
    select *
    from files
    where as_of_date = $day
        or ((unit_code is null or as_of_date is null or date_doubtful) and received_day = $day)
)

select * from final order by received_at, file_name
