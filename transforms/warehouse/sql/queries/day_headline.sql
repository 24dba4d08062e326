-- The headline figures of day $day (marts.headline) with the day's unit counts.
select * from marts.headline where as_of_date = $day
