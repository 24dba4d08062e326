-- Keep day $day's city totals as they are at publication time $published_at.
insert into raw.published_figures
select as_of_date, $published_at, indicator, value, qualifier
from marts.city_totals
where as_of_date = $day
