-- City-wide figures per day and indicator: each unit's latest figures as of the day, summed.
-- The qualifier of each sum comes from marts.sum_qualifier (transforms/warehouse/sql/macros/).
with

unit_counts as (
    select
        as_of_date,
        count(*) filter (where expected and day_status = 'reported') as units_reporting,
        count(*) filter (where expected and day_status = 'carried_forward') as units_carried,
        count(*) filter (where expected and day_status = 'missing') as units_missing
    from marts.unit_day
    group by as_of_date
),

all_types as (select * from marts.unit_day_figures where item_type is null and counted),

sums as (
    select
        as_of_date,
        indicator,
        sum(value) as value,
        marts.sum_qualifier(qualifier, value) as qualifier,
        sum(parts_unspecified) as parts_unspecified,
        count(distinct unit_code) as units_with_figure
    from all_types
    group by as_of_date, indicator
),

grid as (
    select days.as_of_date, indicators.indicator, indicators.position
    from marts.days as days
    cross join ref.indicators as indicators
),

final as (
    select
        grid.as_of_date,
        grid.indicator,
        sums.value,
        sums.qualifier,
        unit_counts.units_reporting,
        unit_counts.units_carried,
        unit_counts.units_missing,
        coalesce(sums.parts_unspecified, 0) as parts_unspecified,
        coalesce(sums.units_with_figure, 0) as units_with_figure,
        grid.position
    from grid
    left join sums using (as_of_date, indicator)
    left join unit_counts using (as_of_date)
)

select * exclude (position) from final order by as_of_date, position
