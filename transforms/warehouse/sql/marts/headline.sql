-- The headline figures of each day (the indicators marked headline in indicators.csv), one row per day, each
-- with its qualifier. A template: the columns are written for the headline indicators of the home's reference.
with

totals as (select * from marts.city_totals),

final as (
    select
        as_of_date,
        {%- for code in headline %}
        max(value) filter (where indicator = '{{ code }}') as {{ code }},
        max(qualifier) filter (where indicator = '{{ code }}') as {{ code }}_qualifier,
        {%- endfor %}
        max(units_reporting) as units_reporting,
        max(units_carried) as units_carried,
        max(units_missing) as units_missing
    from totals
    group by as_of_date
)

select * from final order by as_of_date
