-- Daily increments up to day $day for every unit that reported on $day: the day's own and the history before it.
select daily.*, units.unit_name
from marts.unit_daily as daily
join ref.units as units using (unit_code)
where daily.as_of_date <= $day
  and daily.unit_code in (select unit_code from raw.submissions where status = 'loaded' and as_of_date = $day)
order by daily.unit_code, daily.indicator, daily.item_type, daily.as_of_date
