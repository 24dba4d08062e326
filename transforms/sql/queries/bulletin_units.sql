-- The units of day $day's bulletin (every expected unit, and any other that has reported): status, the report
-- its figures count from and that report's file; city departments first, then counties, each in units.csv order.
with

unit_day as (select * from marts.unit_day where as_of_date = $day and (expected or submission_id is not null)),

submissions as (select submission_id, file_name from raw.submissions),

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
        unit_day.position
    from unit_day
    left join submissions using (submission_id)
)

select * exclude (position) from final order by level = 'county', position
