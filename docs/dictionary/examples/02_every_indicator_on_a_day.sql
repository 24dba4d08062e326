-- Every indicator on one day
-- All fourteen city-wide figures of a day in catalogue order, with their names and units.
select
    totals.indicator,
    indicators.name_zh,
    indicators.unit,
    totals.value,
    totals.qualifier,
    totals.parts_unspecified,
    totals.units_with_figure
from marts.city_totals as totals
join ref.indicators as indicators using (indicator)
where totals.as_of_date = date '2023-12-20'
order by indicators.position;
