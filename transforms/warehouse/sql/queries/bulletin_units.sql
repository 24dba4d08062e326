-- The units of day $day's bulletin (every expected unit, and any other that has reported): status, the report
-- its figures count from and that report's file, and how many of its files for the day were returned (rejected),
-- so that a unit whose file was sent back is not said to have sent nothing; city departments first, then
-- counties, each in units.csv order.
with

campaign as (select timezone from ref.campaign),

unit_day as (select * from marts.unit_day where as_of_date = $day and (expected or submission_id is not null)),

submissions as (select submission_id, file_name from raw.submissions),

-- a rejected file counts for the day it is dated, or, when its date could not be read, the day it was received
rejected as (
    select unit_code, count(*) as rejected_files
    from raw.submissions
    cross join campaign
    where status = 'rejected' and unit_code is not null
        and coalesce(as_of_date, cast(timezone(campaign.timezone, received_at) as date)) = $day
    group by unit_code
),

final as (
    select
        unit_day.unit_code,
        unit_day.unit_name,
        unit_day.level,
        unit_day.expected,
        unit_day.day_status,
        unit_day.report_date,
        unit_day.submission_id,
        submissions.file_name,
        coalesce(rejected.rejected_files, 0) as rejected_files,
        unit_day.position
    from unit_day
    left join submissions using (submission_id)
    left join rejected using (unit_code)
)

select * exclude (position) from final order by level = 'county', position
