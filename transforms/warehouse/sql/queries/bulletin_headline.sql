-- The city-wide figure of each headline indicator on day $day, with the day's unit counts, in catalogue order.
with

totals as (select * from marts.city_totals where as_of_date = $day),

indicators as (select * from ref.indicators where headline),

final as (
    select
        totals.indicator,
        indicators.name_zh,
        indicators.unit,
        totals.value,
        totals.qualifier,
        totals.parts_unspecified,
        totals.units_reporting,
        totals.units_carried,
        totals.units_missing,
        indicators.position
    from totals
    join indicators using (indicator)
)

select * exclude (position) from final order by position
