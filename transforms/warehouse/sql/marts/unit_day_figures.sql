-- Each unit's figures as they stand on each day (carried forward from its latest report as of that day).
-- counted is false where campaign.toml declares that another unit's figure, reported that day, includes it.
with

unit_day as (select * from marts.unit_day where submission_id is not null),

facts as (select * from raw.facts),

figures as (
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
),

included_in as (
    -- an overlap applies on a day when the including unit has a figure for the indicator that day
    select figures.as_of_date, declared.included_unit, declared.indicator,
           any_value(declared.unit_code) as included_in_unit, any_value(declared.reason) as reason
    from ref.overlaps as declared
    join figures on figures.unit_code = declared.unit_code and figures.indicator = declared.indicator
    where figures.value is not null
    group by all
),

final as (
    select
        figures.*,
        included_in.included_unit is null as counted,
        included_in.included_in_unit,
        included_in.reason as overlap_reason
    from figures
    left join included_in
        on included_in.as_of_date = figures.as_of_date
        and included_in.included_unit = figures.unit_code
        and included_in.indicator = figures.indicator
)

select * from final
