-- The headline figures of every day of the campaign up to day $day, oldest first, for the bulletin's chart.
select * from marts.headline where as_of_date <= $day order by as_of_date
