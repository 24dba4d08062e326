-- Each unit's figures from its latest loaded report; as_of_date is the date of that report.
with

loaded as (select submission_id, unit_code, as_of_date from raw.submissions where status = 'loaded'),

latest as (
    select unit_code, max(as_of_date) as as_of_date
    from loaded
    group by unit_code
),

final as (
    select
        facts.unit_code,
        units.unit_name,
        facts.as_of_date,
        facts.indicator,
        facts.item_type,
        facts.value,
        facts.qualifier,
        facts.parts_unspecified,
        facts.submission_id
    from latest
    join loaded using (unit_code, as_of_date)
    join raw.facts as facts on facts.submission_id = loaded.submission_id
    join ref.units as units on units.unit_code = facts.unit_code
)

select * from final
