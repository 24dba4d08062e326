-- City-wide relief items issued per item type and day (only what units reported by type).
with

typed as (select * from marts.unit_day_figures where indicator = 'items_issued' and item_type is not null and counted),

final as (
    select
        as_of_date,
        item_type,
        sum(value) as value,
        marts.sum_qualifier(qualifier, value) as qualifier,
        sum(parts_unspecified) as parts_unspecified,
        count(distinct unit_code) as units_with_figure
    from typed
    group by as_of_date, item_type
)

select * from final order by as_of_date, item_type
