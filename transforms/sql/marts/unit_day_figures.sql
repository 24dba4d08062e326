-- Each unit's figures as they stand on each day (carried forward from its latest report as of that day).
with

unit_day as (select * from marts.unit_day where submission_id is not null),

facts as (select * from raw.facts),

final as (
    select
        unit_day.as_of_date,
        unit_day.unit_code,
        unit_day.unit_name,
        unit_day.day_status,
        unit_day.report_date,
        facts.indicator,
        facts.item_type,
        facts.value,
        facts.qualifier,
        facts.parts_unspecified,
        facts.submission_id
    from unit_day
    join facts on facts.submission_id = unit_day.submission_id
)

select * from final
