-- City totals by day
-- The four headline figures of every day with how many expected units reported, were carried forward or are
-- missing. A qualifier other than exact means the figure is a floor (at_least) or an estimate (approx).
select
    as_of_date,
    households_visited, households_visited_qualifier,
    funds_disbursed, funds_disbursed_qualifier,
    items_issued, items_issued_qualifier,
    patrols_run, patrols_run_qualifier,
    units_reporting, units_carried, units_missing
from marts.headline
order by as_of_date;
