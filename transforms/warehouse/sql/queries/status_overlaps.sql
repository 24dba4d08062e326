-- Figures of day $day set aside from the city totals because another unit's figure already includes them.
select
    set_aside.unit_code,
    set_aside.unit_name,
    set_aside.indicator,
    indicators.name_zh,
    set_aside.item_type,
    set_aside.value,
    set_aside.qualifier,
    set_aside.included_in_unit,
    including.unit_name as included_in_name,
    set_aside.reason
from marts.overlaps as set_aside
left join ref.units as including on including.unit_code = set_aside.included_in_unit
left join ref.indicators as indicators using (indicator)
where set_aside.as_of_date = $day
order by indicators.position, set_aside.unit_code
