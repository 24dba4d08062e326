-- Each expected unit on each day: on_time, late (its report for the day arrived after the daily deadline),
-- carried_forward (no report for the day; its last one counts) or missing (never reported).
with

unit_day as (select * from marts.unit_day where expected),

campaign as (select timezone, daily_deadline from ref.campaign),

facts as (
    select submission_id, count(value) as figures_reported, count(*) - count(value) as figures_unspecified
    from raw.facts
    where item_type is null
    group by submission_id
),

final as (
    select
        unit_day.as_of_date,
        unit_day.unit_code,
        unit_day.unit_name,
        case
            when unit_day.day_status = 'reported'
                and timezone(campaign.timezone, unit_day.received_at)
                    > unit_day.as_of_date + campaign.daily_deadline then 'late'
            when unit_day.day_status = 'reported' then 'on_time'
            else unit_day.day_status
        end as completeness,
        unit_day.report_date,
        unit_day.submission_id,
        timezone(campaign.timezone, unit_day.received_at) as received_local,
        unit_day.as_of_date + campaign.daily_deadline as deadline_local,
        -- indicators the unit gave a number for; one it left blank is absent here, which is not a 0
        coalesce(facts.figures_reported, 0) as figures_reported,
        coalesce(facts.figures_unspecified, 0) as figures_unspecified,
        unit_day.position
    from unit_day
    cross join campaign
    left join facts using (submission_id)
)

select * exclude (position) from final order by as_of_date, position
