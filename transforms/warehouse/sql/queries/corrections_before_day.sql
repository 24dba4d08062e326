-- Published city figures of days before $day that a later correction changed, with the indicator's names.
select changes.*, indicators.name_zh, indicators.name_en, indicators.unit
from marts.published_changes as changes
join ref.indicators as indicators using (indicator)
where changes.as_of_date < $day
order by changes.as_of_date, indicators.position
