-- Corrections of unit reports for days up to $day: each figure that a later file for the same unit and date
-- changed, with the unit's and the indicator's names and when the correction landed (campaign time).
select
    revisions.as_of_date,
    revisions.unit_code,
    units.unit_name,
    revisions.indicator,
    indicators.name_zh,
    indicators.name_en,
    indicators.unit,
    revisions.item_type,
    revisions.old_value,
    revisions.old_qualifier,
    revisions.new_value,
    revisions.new_qualifier,
    revisions.old_file,
    revisions.new_file,
    revisions.old_submission_id,
    revisions.new_submission_id,
    timezone(campaign.timezone, revisions.revised_at) as revised_local
from marts.revisions as revisions
join ref.units as units using (unit_code)
left join ref.indicators as indicators using (indicator)
cross join ref.campaign as campaign
where revisions.as_of_date <= $day
order by revisions.as_of_date, units.position, indicators.position, revisions.item_type
