-- Each unit on each day: whether it reported that day, is carried forward from an earlier report, or has
-- never reported, and which submission its figures for the day come from (its latest as of that day).
with

days as (select as_of_date from marts.days),

units as (select unit_code, unit_name, level, expected, position from ref.units),

loaded as (
    select submission_id, unit_code, as_of_date as report_date, received_at
    from raw.submissions
    where status = 'loaded'
),

latest as (
    select days.as_of_date, loaded.unit_code, max(loaded.report_date) as report_date
    from days
    join loaded on loaded.report_date <= days.as_of_date
    group by all
),

final as (
    select
        days.as_of_date,
        units.unit_code,
        units.unit_name,
        units.level,
        units.expected,
        units.position,
        case
            when latest.report_date is null then 'missing'
            when latest.report_date = days.as_of_date then 'reported'
            else 'carried_forward'
        end as day_status,
        latest.report_date,
        loaded.submission_id,
        loaded.received_at
    from days
    cross join units
    left join latest on latest.as_of_date = days.as_of_date and latest.unit_code = units.unit_code
    left join loaded on loaded.unit_code = latest.unit_code and loaded.report_date = latest.report_date
)

select * from final
