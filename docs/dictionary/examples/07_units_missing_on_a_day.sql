-- Units missing or carried forward on a day
-- Expected units that did not report on the day: never reported yet (missing), or counted from an earlier
-- report (carried_forward).
select unit_code, unit_name, day_status, report_date
from marts.unit_day
where as_of_date = date '2023-12-20' and expected and day_status <> 'reported'
order by position;
