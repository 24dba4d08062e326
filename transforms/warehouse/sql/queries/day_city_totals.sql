-- Every indicator's city-wide figure on day $day, in catalogue order.
select
    totals.indicator,
    indicators.name_zh,
    indicators.name_en,
    indicators.unit,
    totals.value,
    totals.qualifier,
    totals.parts_unspecified,
    totals.units_with_figure
from marts.city_totals as totals
join ref.indicators as indicators using (indicator)
where totals.as_of_date = $day
order by indicators.position
