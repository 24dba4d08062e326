-- The all-types figures of each unit that reported on day $day, as they stand that day.
select f.unit_code, f.unit_name, f.indicator, f.value, f.qualifier, f.submission_id
from marts.unit_day_figures as f
where f.as_of_date = $day and f.day_status = 'reported' and f.item_type is null
