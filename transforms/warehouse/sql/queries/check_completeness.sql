-- Completeness of day $day: each expected unit on_time, late, carried_forward or missing.
select * from marts.completeness where as_of_date = $day
