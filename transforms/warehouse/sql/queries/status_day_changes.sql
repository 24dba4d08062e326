-- City figures of day $day that changed after the day was published (a correction arrived later).
select
    changes.*,
    timezone(campaign.timezone, changes.published_at) as published_local,
    indicators.name_zh,
    indicators.name_en,
    indicators.unit
from marts.published_changes as changes
join ref.indicators as indicators using (indicator)
cross join ref.campaign as campaign
where changes.as_of_date = $day
order by indicators.position
