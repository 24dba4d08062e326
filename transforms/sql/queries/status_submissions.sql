-- Every file for day $day, and every file received that day whose unit or date could not be read: its final
-- state, one-line reason, warnings and errors, and when it landed (campaign time).
with

campaign as (select timezone from ref.campaign),

errors as (
    select submission_id, count(*) as errors
    from raw.issues
    where severity = 'error'
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
        submissions.received_at,
        submissions.processed_at,
        timezone(campaign.timezone, submissions.received_at) as received_local
    from raw.submissions as submissions
    cross join campaign
    left join ref.units as units using (unit_code)
    left join errors using (submission_id)
),

final as (
    select *
    from files
    where as_of_date = $day
        or ((unit_code is null or as_of_date is null) and cast(received_local as date) = $day)
)

select * from final order by received_at, file_name
