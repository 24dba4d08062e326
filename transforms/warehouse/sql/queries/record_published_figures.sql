-- Keep day $day's city totals as they are at publication time $published_at, with the text each was printed as.
insert into raw.published_figures (as_of_date, published_at, indicator, value, qualifier, printed)
select totals.as_of_date, $published_at, totals.indicator, totals.value, totals.qualifier, printed.text
from marts.city_totals as totals
left join (select unnest($printed_indicators) as indicator, unnest($printed_texts) as text) as printed
    using (indicator)
where totals.as_of_date = $day
