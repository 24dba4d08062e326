-- Figures set aside from the city totals because another unit's figure already includes them (campaign.toml).
select
    as_of_date,
    indicator,
    item_type,
    unit_code,
    unit_name,
    value,
    qualifier,
    included_in_unit,
    overlap_reason as reason,
    submission_id
from marts.unit_day_figures
where not counted
order by as_of_date, indicator, unit_code
